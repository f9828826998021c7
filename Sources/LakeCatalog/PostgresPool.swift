import Foundation
import LakePostgres
import Synchronization

/// Connections to the catalog's PostgreSQL database, and its transactions. Writes are
/// serialized across every machine by one transaction-scoped advisory lock, as SQLite's
/// IMMEDIATE transactions serialize them on one: the change sequence is an identity column,
/// whose numbers are handed out at INSERT and not at COMMIT, so two writers committing out of
/// order would let a watcher that read the larger number skip the smaller one for ever. Reads
/// run concurrently, each in one snapshot (REPEATABLE READ, READ ONLY).
final class PostgresPool: Sendable {
    let url: String
    /// Each connection with its placeholder translations, which live as long as it does.
    private let idle = Mutex<[PostgresSQLConnection]>([])
    private let logger: @Sendable (String) -> Void
    static let keep = 16
    /// The advisory lock every write holds (any fixed number, "lake" in ASCII).
    static let writeLock: Int64 = 0x6C61_6B65

    init(url: String, logger: @escaping @Sendable (String) -> Void) {
        self.url = url
        self.logger = logger
    }

    func read<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        try transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", body)
    }

    func write<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        try transaction(begin: "BEGIN", lock: true, body)
    }

    /// Runs `body` in a transaction, again from the start when the server said the transaction
    /// lost a race (serialization failure, deadlock) or the connection broke before COMMIT was
    /// sent: with backoff, at most `attempts` times. A connection that broke during COMMIT
    /// leaves it unknown whether the transaction took effect; running it again then either
    /// finds its rows (and refuses, as a second identical request would) or makes them.
    private func transaction<T>(begin: String, lock: Bool = false, _ body: (any SQLDatabase) throws -> T) throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try withConnection { db in
                    let connection = db.connection
                    try connection.run(begin, prepare: false)
                    do {
                        if lock { try connection.run("SELECT pg_advisory_xact_lock($1)", [Self.writeLock]) }
                        let result = try body(db)
                        try connection.run("COMMIT", prepare: false)
                        return result
                    } catch {
                        if !connection.isBroken { _ = try? connection.run("ROLLBACK", prepare: false) }
                        throw error
                    }
                }
            } catch let error as PostgresError where (error.isRetryable || error.isConnectionLost) && attempt < Self.attempts {
                logger("catalog transaction attempt \(attempt) failed (\(error)); trying again")
                Self.backoff(attempt)
            } catch let error as PostgresError {
                throw Self.catalogError(error)
            }
        }
    }

    static let attempts = 8

    static func backoff(_ attempt: Int) {
        // 10 ms, 20, 40 … up to 2 s, with jitter so racing machines spread out.
        let base = min(2.0, 0.01 * pow(2, Double(attempt - 1)))
        usleep(UInt32(base * Double.random(in: 0.5...1.5) * 1_000_000))
    }

    private func withConnection<T>(_ body: (PostgresSQLConnection) throws -> T) throws -> T {
        let db = try idle.withLock { $0.popLast() } ?? PostgresSQLConnection(PostgresConnection(url))
        defer {
            if !db.connection.isBroken { idle.withLock { if $0.count < Self.keep { $0.append(db) } } }
        }
        return try body(db)
    }

    static func catalogError(_ error: PostgresError) -> CatalogError {
        if error.sqlState == "53100" { return .noSpace(error.message) }
        return .database(error.description)
    }
}
