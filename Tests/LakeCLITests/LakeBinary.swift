import Foundation
import LakeSystem
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
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "LAKE_STORE")
        for (key, value) in ClusterStores.environment { env[key] = value }
        for (key, value) in environment { env[key] = value }
        let (ended, output, errors) = try ChildProcess.run(Self.executable, arguments + (useStore ? ["--store", store] : []),
                                                           environment: env, directory: cwd)
        return Result(status: ended.status, stdout: String(decoding: output, as: UTF8.self),
                      stderr: String(decoding: errors, as: UTF8.self))
    }

    /// Makes the store: embedded, or with LAKE_TEST_STORE=cluster a node of a cluster (its
    /// catalog a new database of the tests' PostgreSQL, its blobs a new bucket of the tests'
    /// SeaweedFS), so that the suites that use this run unchanged against the cluster's engines.
    func initStore() throws {
        let result = try run(["init"] + ClusterStores.initArguments())
        guard result.succeeded else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "lake init failed: \(result.stderr)"])
        }
    }

    /// Parses JSON output.
    func json(_ result: Result) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
    }
}

/// LAKE_TEST_STORE=cluster: the stores `initStore` makes use PostgreSQL and S3.
enum ClusterStores {
    static let isOn = ProcessInfo.processInfo.environment["LAKE_TEST_STORE"] == "cluster"
    nonisolated(unsafe) private static var server: SeaweedS3?
    private static let lock = NSLock()

    private static func seaweed() throws -> SeaweedS3 {
        lock.lock()
        defer { lock.unlock() }
        if let server { return server }
        let started = try SeaweedS3()
        server = started
        // Shared by every test of the run, so no test's end stops it: the process's does.
        atexit { ClusterStores.stopServer() }
        // Commands the tests run through a shell inherit the credentials too.
        for (key, value) in started.credentials.merging(PostgresServer.shared.environment, uniquingKeysWith: { $1 }) {
            setenv(key, value, 1)
        }
        return started
    }

    static func stopServer() {
        lock.lock()
        defer { lock.unlock() }
        server?.stop()
    }

    static var environment: [String: String] {
        guard isOn, let server = try? seaweed() else { return [:] }
        return server.credentials.merging(PostgresServer.shared.environment) { $1 }
    }

    static func initArguments() throws -> [String] {
        guard isOn else { return [] }
        // One bucket, a prefix per store: SeaweedFS gives each bucket volumes of its own, and a
        // bucket per test ran its volume server out of them (HTTP 500 on the first PUT).
        let prefix = "s-" + UUID().uuidString.lowercased().prefix(18)
        return ["--catalog", try PostgresServer.shared.makeDatabase(),
                "--blobs", "s3://lake-tests/\(prefix)?endpoint=\(try seaweed().endpoint)&region=us-east-1", "--cache-size", "20G"]
    }
}

