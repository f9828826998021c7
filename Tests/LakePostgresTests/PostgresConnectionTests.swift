import Foundation
import LakePostgres
import LakeTestSupport
import Testing

/// The PostgreSQL client against a real server on loopback (`PostgresServer`).
@Suite struct PostgresConnectionTests {
    let server = PostgresServer.shared

    @Test func valuesGoThereAndBackExactly() throws {
        let db = try server.connect(try server.makeDatabase())
        try db.run("CREATE TABLE t (i BIGINT, d DOUBLE PRECISION, s TEXT, b BOOLEAN)", prepare: false)
        let doubles = [0.1, -0.0, 1e-308, Double.leastNonzeroMagnitude, .greatestFiniteMagnitude, .pi, .infinity, -.infinity]
        let texts = ["", "it's", "naïve ☃", "back\\slash", "$1", String(repeating: "x", count: 100_000)]
        for (index, value) in doubles.enumerated() {
            try db.run("INSERT INTO t (i, d, s, b) VALUES ($1, $2, $3, $4)", [Int64.min + Int64(index), value, texts[index % texts.count], index % 2 == 0])
        }
        try db.run("INSERT INTO t (i, d, s, b) VALUES ($1, $2, $3, $4)", [Int64.max, Double.nan, Optional<String>.none, Optional<Bool>.none])
        let rows = try db.run("SELECT i, d, s, b FROM t ORDER BY i")
        #expect(rows.count == doubles.count + 1)
        for (index, value) in doubles.enumerated() {
            let row = rows[index]
            #expect(row.int64(0) == Int64.min + Int64(index))
            #expect(row.double("d")?.bitPattern == value.bitPattern, "\(value) came back as \(row["d"] ?? "NULL")")
            #expect(row.string("s") == texts[index % texts.count])
            #expect(row.bool("b") == (index % 2 == 0))
        }
        let last = rows[doubles.count]
        #expect(last.int64("i") == Int64.max && last.double("d")?.isNaN == true && last["s"] == nil && last["b"] == nil)
    }

    /// Large texts are lent to libpq in place, small ones copied: several of each, and a null,
    /// in one statement arrive where they were sent, prepared or not.
    @Test func largeAndSmallTextsInOneStatementArriveInPlace() throws {
        let db = try server.connect(try server.makeDatabase())
        let large = (0..<3).map { String(repeating: Character(UnicodeScalar(UInt8(ascii: "a") + UInt8($0))), count: (64 << 10) + $0 * 1000) + "é" }
        for prepare in [true, false] {
            let rows = try db.run("SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text", [large[0], "small", large[1], Optional<String>.none,
                                                                                             large[2], "é"], prepare: prepare)
            let row = try #require(rows.first)
            #expect(row.string(0) == large[0] && row.string(1) == "small" && row.string(2) == large[1])
            #expect(row[3] == nil && row.string(4) == large[2] && row.string(5) == "é")
        }
    }

    @Test func errorsSayWhatTheCallerCanDo() throws {
        let url = try server.makeDatabase()
        let db = try server.connect(url)
        try db.run("CREATE TABLE t (id TEXT PRIMARY KEY)", prepare: false)
        try db.run("INSERT INTO t VALUES ($1)", ["a"])
        let duplicate = #expect(throws: PostgresError.self) { try db.run("INSERT INTO t VALUES ($1)", ["a"]) }
        #expect(duplicate?.sqlState == "23505" && duplicate?.isConstraintViolation == true && duplicate?.isRetryable == false)
        let syntax = #expect(throws: PostgresError.self) { try db.run("SELEC 1", prepare: false) }
        #expect(syntax?.kind == .server && syntax?.sqlState == "42601")
        #expect(try db.run("SELECT count(*) FROM t")[0].int64(0) == 1, "the connection serves on after an error")

        // Wrong password: refused, and the password is not in the message.
        let refused = #expect(throws: PostgresError.self) { try PostgresConnection(url + "?password=not-it&connect_timeout=5") }
        #expect(refused?.kind == .connection && refused?.description.contains("password authentication failed") == true)
        #expect(refused?.description.contains("not-it") == false)
        // Nothing listening.
        let nobody = #expect(throws: PostgresError.self) { try PostgresConnection("host=127.0.0.1 port=1 user=lake connect_timeout=5") }
        #expect(nobody?.isConnectionLost == true)
    }

    /// Two transactions that each read what the other writes, serializable: one must fail with a
    /// serialization failure, which is the retryable kind.
    @Test func aLostRaceIsRetryable() throws {
        let url = try server.makeDatabase()
        let a = try server.connect(url), b = try server.connect(url)
        try a.run("CREATE TABLE t (k TEXT PRIMARY KEY, v BIGINT)", prepare: false)
        try a.run("INSERT INTO t VALUES ('x', 0), ('y', 0)", prepare: false)
        try a.run("BEGIN ISOLATION LEVEL SERIALIZABLE", prepare: false)
        try b.run("BEGIN ISOLATION LEVEL SERIALIZABLE", prepare: false)
        let sumA = try a.run("SELECT sum(v) FROM t")[0].int64(0)!
        let sumB = try b.run("SELECT sum(v) FROM t")[0].int64(0)!
        try a.run("UPDATE t SET v = $1 WHERE k = 'x'", [sumA + 1])
        try b.run("UPDATE t SET v = $1 WHERE k = 'y'", [sumB + 1])
        try a.run("COMMIT", prepare: false)
        let lost = #expect(throws: PostgresError.self) { try b.run("COMMIT", prepare: false) }
        #expect(lost?.isRetryable == true, "\(String(describing: lost))")
    }

    @Test func notificationsArriveAndWaitingEndsWhenOneDoes() throws {
        let url = try server.makeDatabase()
        let listener = try server.connect(url), sender = try server.connect(url)
        try listener.listen("lake_changes")
        #expect(try listener.notifications(waitingUpTo: 0).isEmpty)
        let start = Date()
        let sent = DispatchSemaphore(value: 0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) {
            _ = try? sender.run("SELECT pg_notify('lake_changes', $1)", ["42"])
            sent.signal()
        }
        var received: [PostgresConnection.Notification] = []
        #expect(try eventually(30) { received += try listener.notifications(waitingUpTo: 5); return !received.isEmpty })
        #expect(received.first == .init(channel: "lake_changes", payload: "42", senderPID: sender.serverPID))
        #expect(Date().timeIntervalSince(start) < 30)
        // The notification arrives at the sender's commit, maybe before its thread has read the
        // reply: a connection is one thread's at a time, so the next statement waits for it.
        sent.wait()
        // A notification sent inside a transaction arrives only if it commits.
        try sender.run("BEGIN", prepare: false)
        try sender.run("SELECT pg_notify('lake_changes', 'rolled back')", prepare: false)
        try sender.run("ROLLBACK", prepare: false)
        try sender.run("SELECT pg_notify('lake_changes', 'committed')", prepare: false)
        var next: [PostgresConnection.Notification] = []
        #expect(try eventually(30) { next += try listener.notifications(waitingUpTo: 1); return !next.isEmpty })
        #expect(next.map(\.payload) == ["committed"])
    }

    @Test func aKilledServerProcessBreaksTheConnectionVisibly() throws {
        let url = try server.makeDatabase()
        let db = try server.connect(url), admin = try server.connect(url)
        try db.run("SELECT 1")
        try admin.run("SELECT pg_terminate_backend($1)", [Int64(db.serverPID)])
        let broken = #expect(throws: PostgresError.self) { try db.run("SELECT 1") }
        #expect(broken?.isConnectionLost == true && db.isBroken, "\(String(describing: broken))")
        #expect(try server.connect(url).run("SELECT 2")[0].int64(0) == 2, "a new connection works")
    }

    /// A server killed and started again (its own, not the shared one): the old connection says
    /// it is lost, a new one finds every committed row.
    @Test func aRestartedServerLosesConnectionsNotCommittedRows() throws {
        let own = try PostgresServer()
        let url = try own.makeDatabase()
        let db = try own.connect(url)
        try db.run("CREATE TABLE t (v BIGINT)", prepare: false)
        try db.run("INSERT INTO t SELECT generate_series(1, 1000)", prepare: false)
        try own.restart()
        let lost = #expect(throws: PostgresError.self) { try db.run("SELECT count(*) FROM t") }
        #expect(lost?.isConnectionLost == true, "\(String(describing: lost))")
        #expect(try own.connect(url).run("SELECT count(*) FROM t")[0].int64(0) == 1000)
        own.stop()
        #expect(throws: PostgresError.self) { try own.connect(url) }
    }
}
