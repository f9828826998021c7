import LakeCore
import Logging

/// A new store in a temporary folder, for tests.
public final class TestStore: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let store: Store

    public init() throws {
        directory = TemporaryDirectory("lake-store")
        let root = directory.file("store")
        guard case .created(let store) = try Store.create(at: root, logger: TestLogger.make()) else {
            fatalError("a fresh folder already held a store")
        }
        self.store = store
    }

    public var root: String { store.root }
}

public enum TestLogger {
    public static func make() -> Logger {
        var logger = Logger(label: "lake-test") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        return logger
    }
}
