import CLibPQLoader
import Glibc

/// One connection to PostgreSQL through libpq, used by one thread at a time (the catalog keeps
/// a pool). Statements run with text parameters (`$1`…); those run often are prepared once per
/// connection, as GRDB's cached statements are on SQLite.
public final class PostgresConnection: @unchecked Sendable {
    private let connection: OpaquePointer
    private var prepared: [String: String] = [:]
    /// A connection whose socket broke is not used again (the pool makes a new one).
    public private(set) var isBroken = false

    /// Connects with a libpq connection string or URI (`postgres://user@host:port/db`); the
    /// password comes from `PGPASSWORD` or `~/.pgpass`, as for psql, never from the string Lake keeps.
    public init(_ conninfo: String) throws(PostgresError) {
        if let failure = lake_pq_load() { throw PostgresError(.library, String(cString: failure)) }
        guard let connection = lake_PQconnectdb(conninfo) else { throw PostgresError(.connection, "out of memory") }
        guard lake_PQstatus(connection) == 0 else {
            let message = Self.trimmed(lake_PQerrorMessage(connection))
            lake_PQfinish(connection)
            throw PostgresError(.connection, message)
        }
        self.connection = connection
        // Notices (a NOTICE from `CREATE … IF NOT EXISTS`) would go to standard error.
        _ = try? run("SET client_min_messages TO warning", [], prepare: false)
    }

    deinit { lake_PQfinish(connection) }

    /// The server process serving this connection (tests kill it to break the connection).
    public var serverPID: Int32 { lake_PQbackendPID(connection) }

    /// Runs one statement. `prepare`: keep it prepared on this connection under a generated name
    /// (for statements whose text is fixed; text built from values would fill the server's memory).
    @discardableResult
    public func run(_ sql: String, _ parameters: [any PostgresBindable] = [], prepare: Bool = true) throws(PostgresError) -> PostgresRows {
        let texts = parameters.map(\.postgresText)
        // libpq wants C strings that live through the call. Small ones are copied; a large one
        // (a processed object's provisions: 18 MB at the limit of fields) is lent in place, as
        // libpq copies it into its own buffer anyway.
        let large = texts.indices.filter { (texts[$0]?.utf8.count ?? 0) >= Self.lentTextSize }
        var pointers: [UnsafeMutablePointer<CChar>?] = texts.enumerated().map { index, text in
            large.contains(index) ? nil : text.flatMap { strdup($0) }
        }
        defer { for (index, pointer) in pointers.enumerated() where !large.contains(index) { free(pointer) } }
        let name = prepare ? try statementName(sql) : nil
        let result = lending(texts, large[...], into: &pointers) { pointers in
            pointers.withUnsafeMutableBufferPointer { buffer in
                let values = UnsafeRawPointer(buffer.baseAddress).map { $0.assumingMemoryBound(to: UnsafePointer<CChar>?.self) }
                guard let name else { return lake_PQexecParams(connection, sql, Int32(texts.count), values) }
                return lake_PQexecPrepared(connection, name, Int32(texts.count), values)
            }
        }
        return try collect(result)
    }

    static let lentTextSize = 64 << 10

    /// Runs `body` with the large texts' own bytes in `pointers` (one nested `withCString` each:
    /// they are few, a statement's large columns).
    private func lending(_ texts: [String?], _ large: ArraySlice<Int>, into pointers: inout [UnsafeMutablePointer<CChar>?],
                         _ body: (inout [UnsafeMutablePointer<CChar>?]) -> OpaquePointer?) -> OpaquePointer? {
        guard let index = large.first, let text = texts[index] else { return body(&pointers) }
        return text.withCString { bytes in
            pointers[index] = UnsafeMutablePointer(mutating: bytes)
            defer { pointers[index] = nil }
            return lending(texts, large.dropFirst(), into: &pointers, body)
        }
    }

    /// Runs a text of several statements (a schema migration), without parameters; the result
    /// is the last statement's.
    @discardableResult
    public func runScript(_ sql: String) throws(PostgresError) -> PostgresRows {
        try collect(lake_PQexec(connection, sql))
    }

    private func statementName(_ sql: String) throws(PostgresError) -> String {
        if let name = prepared[sql] { return name }
        let name = "lake_\(prepared.count + 1)"
        _ = try collect(lake_PQprepare(connection, name, sql))
        prepared[sql] = name
        return name
    }

    private func collect(_ result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else {
            isBroken = lake_PQstatus(connection) != 0
            throw PostgresError(.connection, Self.trimmed(lake_PQerrorMessage(connection)))
        }
        defer { lake_PQclear(result) }
        let status = lake_PQresultStatus(result)
        guard status == 1 || status == 2 else {   // COMMAND_OK, TUPLES_OK
            let sqlState = lake_PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let primary = lake_PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            let message = primary ?? Self.trimmed(lake_PQresultErrorMessage(result))
            if lake_PQstatus(connection) != 0 {
                isBroken = true
                throw PostgresError(.connection, sqlState: sqlState, message.isEmpty ? Self.trimmed(lake_PQerrorMessage(connection)) : message)
            }
            throw PostgresError(.server, sqlState: sqlState, message)
        }
        let rowCount = Int(lake_PQntuples(result)), columnCount = Int(lake_PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: lake_PQfname(result, Int32($0))) }
        var values: [[String?]] = []
        values.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            values.append((0..<Int32(columnCount)).map { column in
                lake_PQgetisnull(result, row, column) != 0 ? nil : String(cString: lake_PQgetvalue(result, row, column))
            })
        }
        let affected = lake_PQcmdTuples(result).flatMap { Int(String(cString: $0)) } ?? 0
        return PostgresRows(columns: columns, values: values, affected: affected)
    }

    // MARK: notifications

    /// A notification from `NOTIFY channel, 'payload'` (or `pg_notify`).
    public struct Notification: Sendable, Equatable {
        public var channel: String
        public var payload: String
        public var senderPID: Int32

        public init(channel: String, payload: String, senderPID: Int32) {
            self.channel = channel
            self.payload = payload
            self.senderPID = senderPID
        }
    }

    /// Starts receiving notifications on `channel` (an identifier of letters, digits and `_`).
    public func listen(_ channel: String) throws(PostgresError) {
        precondition(channel.utf8.allSatisfy { $0 == UInt8(ascii: "_") || (48...57).contains($0) || (97...122).contains($0) },
                     "channel names are lowercase identifiers")
        try run("LISTEN \(channel)", prepare: false)
    }

    /// The notifications received, waiting up to `timeout` seconds for the first one.
    public func notifications(waitingUpTo timeout: Double) throws(PostgresError) -> [Notification] {
        var received = try drain()
        if !received.isEmpty || timeout <= 0 { return received }
        var descriptor = pollfd(fd: lake_PQsocket(connection), events: Int16(POLLIN), revents: 0)
        guard descriptor.fd >= 0 else { isBroken = true; throw PostgresError(.connection, "no socket") }
        let ready = poll(&descriptor, 1, Int32(min(timeout, 86_400) * 1000))
        if ready > 0 { received = try drain() }
        return received
    }

    private func drain() throws(PostgresError) -> [Notification] {
        guard lake_PQconsumeInput(connection) == 1 else {
            isBroken = true
            throw PostgresError(.connection, Self.trimmed(lake_PQerrorMessage(connection)))
        }
        var received: [Notification] = []
        while let notify = lake_PQnotifies(connection) {
            received.append(Notification(channel: String(cString: notify.pointee.relname), payload: String(cString: notify.pointee.extra),
                                         senderPID: notify.pointee.be_pid))
            lake_PQfreemem(notify)
        }
        return received
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "unknown error" }
        var text = String(cString: message)
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
