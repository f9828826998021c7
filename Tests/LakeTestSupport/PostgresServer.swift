import Foundation
import LakePostgres
import LakeSystem

/// A throwaway PostgreSQL cluster on loopback for the tests (docs: ../shared/design/scale-out.md):
/// `initdb` as the `postgres` account into a temporary folder, the server started as a child of
/// this process that dies with it, password authentication over TCP, one database per test.
public final class PostgresServer: @unchecked Sendable {
    /// One server for the whole test process, started by the first test that needs it.
    public static let shared: PostgresServer = {
        do { return try PostgresServer() } catch { fatalError("PostgreSQL did not start: \(error)") }
    }()

    public let user = "lake"
    public let password = "lake-test-pw '\\:"
    public private(set) var port = 0
    private let folder: String
    private let bin: String
    private let lock = NSLock()
    private var databases = 0
    private var serverPID: pid_t = 0

    public init() throws {
        guard let version = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?
            .compactMap(Int.init).max() else {
            throw CocoaError(.fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "PostgreSQL is not installed (apt install postgresql)"])
        }
        bin = "/usr/lib/postgresql/\(version)/bin"
        // Not under a folder the postgres account cannot enter (/root); its own, traversable.
        folder = "/tmp/lake-test-postgres-\(getpid())-\(UUID().uuidString.prefix(6).lowercased())"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let superPassword = "postgres-\(UUID().uuidString)"
        _ = FileManager.default.createFile(atPath: folder + "/pw", contents: Data(superPassword.utf8))
        try Self.asPostgres("/bin/chown", ["-R", "postgres:postgres", folder], root: true)
        try Self.asPostgres(bin + "/initdb", ["-D", folder + "/data", "-U", "postgres", "--pwfile=\(folder)/pw", "--auth-local=trust",
                                              "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"])
        for _ in 0..<5 {
            port = Int.random(in: 30_000..<50_000)
            try start()
            if eventually(30, { (try? PostgresConnection(adminURL(superPassword))) != nil || !self.isRunning }), isRunning {
                let admin = try PostgresConnection(adminURL(superPassword))
                try admin.run("CREATE ROLE \(user) LOGIN CREATEDB PASSWORD '\(password.replacingOccurrences(of: "'", with: "''"))'", prepare: false)
                self.superPassword = superPassword
                Self.removeAtExit(self)
                return
            }
            stop()
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "postgres did not start; see \(folder)/log"])
    }

    private var superPassword = ""

    private func adminURL(_ password: String) -> String {
        "host=127.0.0.1 port=\(port) user=postgres dbname=postgres password=\(password) connect_timeout=5"
    }

    /// A new, empty database owned by `lake`; its URL (the password comes from `environment`).
    public func makeDatabase() throws -> String {
        let name = lock.withLock { databases += 1; return "lake_test_\(databases)" }
        let admin = try PostgresConnection(adminURL(superPassword))
        try admin.run("CREATE DATABASE \(name) OWNER \(user)", prepare: false)
        return "postgres://\(user)@127.0.0.1:\(port)/\(name)"
    }

    /// What a process needs to connect as `lake`.
    public var environment: [String: String] { ["PGPASSWORD": password] }

    /// Connects to `url` as `lake` without touching this process's environment.
    public func connect(_ url: String) throws -> PostgresConnection {
        try PostgresConnection(url + "?password=" + password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! + "&connect_timeout=5")
    }

    // MARK: the server process

    private var isRunning: Bool { serverPID > 0 && kill(serverPID, 0) == 0 && !Self.reaped(serverPID) }

    /// Starts the server from a thread that lives as long as the server: the server is started
    /// with a parent-death signal, which the kernel sends when the *thread* that forked it ends,
    /// and the test runner's threads come and go.
    private func start() throws {
        let started = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var pid: pid_t = 0
        nonisolated(unsafe) var failure: Error?
        // fsync off: the tests never lose the machine, only the server (kill -9), after which the
        // kernel still has every write; synchronous_commit stays on, as committed must mean kept.
        let arguments = ["--pdeathsig", "KILL", "--reuid=postgres", "--regid=postgres", "--init-groups",
                         bin + "/postgres", "-D", folder + "/data", "-p", "\(port)", "-k", folder,
                         "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
                         "-c", "full_page_writes=off", "-c", "max_connections=300"]
        let log = folder + "/log"
        let thread = Thread {
            do {
                let server = try ChildProcess("/usr/bin/setpriv", arguments, output: .file(log), errors: .file(log))
                pid = server.pid
                started.signal()
                // This thread ends when the server does (killed by `stop`, or with this process),
                // and reaps it: a killed server is no zombie answering kill(pid, 0).
                server.wait()
            } catch {
                failure = error
                started.signal()
            }
        }
        thread.start()
        started.wait()
        if let failure { throw failure }
        serverPID = pid
    }

    /// Stops the server at once (as a crash or a power cut would); `start` brings it back on the
    /// same port and data.
    public func stop() {
        guard serverPID > 0 else { return }
        kill(serverPID, SIGKILL)
        _ = eventually(30) { kill(serverPID, 0) != 0 || Self.reaped(serverPID) }
        serverPID = 0
    }

    /// Kills the server and starts it again; returns once it accepts connections.
    public func restart() throws {
        stop()
        // The killed postmaster's children notice and exit; until then the port and shared
        // memory may still be held.
        _ = eventually(30) { (try? Command.output("/usr/bin/pgrep", ["-f", "\(folder)/data"]))?.isEmpty ?? true }
        try start()
        guard eventually(30, { (try? PostgresConnection(adminURL(superPassword))) != nil }) else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "postgres did not restart; see \(folder)/log"])
        }
    }

    /// The servers this process started: stopped and their folders removed when it exits (the
    /// parent-death signal would stop them anyway; the folders would stay).
    private static let running = NSLock()
    nonisolated(unsafe) private static var servers: [PostgresServer] = []

    private static func removeAtExit(_ server: PostgresServer) {
        running.withLock {
            if servers.isEmpty {
                let atExit: @convention(c) () -> Void = {
                    for server in PostgresServer.running.withLock({ PostgresServer.servers }) {
                        server.stop()
                        try? FileManager.default.removeItem(atPath: server.folder)
                    }
                }
                atexit(atExit)
            }
            servers.append(server)
        }
    }

    private static func reaped(_ pid: pid_t) -> Bool {
        // A killed child stays a zombie until the thread waiting for it reaps it.
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        return status.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") == true
    }

    private static func asPostgres(_ executable: String, _ arguments: [String], root: Bool = false) throws {
        let status = try Command.status(root ? executable : "/usr/bin/setpriv",
                                        root ? arguments : ["--reuid=postgres", "--regid=postgres", "--init-groups", executable] + arguments,
                                        output: .null)
        guard status == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "\(executable) failed (\(status))"])
        }
    }
}
