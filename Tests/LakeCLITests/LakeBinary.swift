import Foundation
import LakeTestSupport

/// Runs the built `lake` binary against a temporary store, as a user would.
struct LakeBinary {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var succeeded: Bool { status == 0 }
    }

    let directory: TemporaryDirectory
    var store: String { directory.file("store") }

    init() {
        directory = TemporaryDirectory("lake-cli")
    }

    /// The checkout these tests (and the binary) were built from.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// The `lake` executable built beside the test bundle.
    static let executable: String = {
        var url = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = url.appendingPathComponent("lake").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            url.deleteLastPathComponent()
        }
        let fromBuild = FileManager.default.currentDirectoryPath + "/.build/debug/lake"
        return fromBuild
    }()

    /// Runs `lake ARGS --store <temp store>` unless `store` is false.
    @discardableResult
    func run(_ arguments: [String], store useStore: Bool = true, environment: [String: String] = [:],
             cwd: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = arguments + (useStore ? ["--store", store] : [])
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "LAKE_STORE")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes concurrently so neither fills up and blocks the child.
        nonisolated(unsafe) var errData = Data()
        let reader = Thread { errData = err.fileHandleForReading.readAllRetrying() }
        reader.start()
        let outData = out.fileHandleForReading.readAllRetrying()
        process.waitUntilExit()
        while !reader.isFinished { usleep(1000) }
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    func initStore() throws {
        let result = try run(["init"])
        precondition(result.succeeded, "lake init failed: \(result.stderr)")
    }

    /// Parses JSON output.
    func json(_ result: Result) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    }
}
