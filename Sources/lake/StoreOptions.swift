import ArgumentParser
import Foundation
import LakeCore
import Logging
import Synchronization

/// Options every command that works on a store takes.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The store folder (default: $LAKE_STORE, else /var/lib/lake for root, ~/.local/share/lake otherwise).")
    var store: String?

    @Flag(name: .long, help: "Log what happens (same as LAKE_LOG=debug).")
    var verbose = false

    var storePath: String {
        StoreLocation.resolve(explicit: store, environment: ProcessInfo.processInfo.environment)
    }

    /// How the store was chosen, for messages that name it.
    var storeChosenBy: String {
        if store != nil { return "--store" }
        if let value = ProcessInfo.processInfo.environment["LAKE_STORE"], !value.isEmpty { return "$LAKE_STORE" }
        return "the default for this account"
    }

    var logger: Logger {
        var logger = Logger(label: "lake") { StreamLogHandler.standardError(label: $0) }
        let fromEnvironment = ProcessInfo.processInfo.environment["LAKE_LOG"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = verbose ? .debug : (fromEnvironment ?? .warning)
        return logger
    }

    func openStore() throws -> Store {
        let store = try Store(opening: storePath, logger: logger)
        OpenedStore.description.withLock { $0 = "\(store.root) (chosen by \(storeChosenBy))" }
        return store
    }
}

/// The store this process opened, as messages name it.
enum OpenedStore {
    static let description = Mutex<String?>(nil)
}
