import LakeModel

extension SQLiteCatalog {
    public func storeIdentity(proposing proposed: String) throws -> String {
        try write { db in
            try db.run(sql: "INSERT INTO store_settings (key, value) VALUES ('store_id', ?) ON CONFLICT DO NOTHING", arguments: [proposed])
            return try db.value(String.self, sql: "SELECT value FROM store_settings WHERE key = 'store_id'") ?? proposed
        }
    }

    public func heartbeat(_ session: NodeSession, staleBefore: Timestamp) throws -> [NodeSession] {
        // Light: a heartbeat lost with the machine is the machine's silence anyway.
        try writeLight { db in
            try db.run(sql: """
                INSERT INTO node_sessions (id, host, pid, mountpoint, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
                """, arguments: [session.id, session.host, Int64(session.pid), session.mountpoint, session.startedAt.microseconds,
                                 session.heartbeatAt.microseconds])
            let stale = try db.rows(sql: "\(Self.sessionColumns) WHERE heartbeat_at < ? AND id <> ?",
                                    arguments: [staleBefore.microseconds, session.id]).map(Self.session)
            if !stale.isEmpty {
                try db.run(sql: "DELETE FROM node_sessions WHERE heartbeat_at < ? AND id <> ?", arguments: [staleBefore.microseconds, session.id])
            }
            return stale
        }
    }

    public func endSession(_ id: String) throws {
        try writeLight { db in try db.run(sql: "DELETE FROM node_sessions WHERE id = ?", arguments: [id]) }
    }

    public func nodeSessions() throws -> [NodeSession] {
        try read { db in try db.rows(sql: "\(Self.sessionColumns) ORDER BY host, started_at").map(Self.session) }
    }

    static let sessionColumns = "SELECT id, host, pid, mountpoint, started_at, heartbeat_at FROM node_sessions"

    static func session(_ row: SQLRow) -> NodeSession {
        NodeSession(id: row[0], host: row[1], pid: Int32(truncatingIfNeeded: row[2] as Int64), mountpoint: row[3],
                    startedAt: Timestamp(microseconds: row[4]), heartbeatAt: Timestamp(microseconds: row[5]))
    }

    public func changeSignal() -> (any ChangeSignal)? {
        guard case .postgres(let pool) = engine else { return nil }
        return PostgresChangeSignal(url: pool.url)
    }
}
