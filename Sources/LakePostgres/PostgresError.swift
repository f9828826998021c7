/// What went wrong talking to PostgreSQL, sorted by what the caller can do about it.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// libpq could not be loaded.
        case library
        /// No connection, or it was lost: reconnecting may help.
        case connection
        /// The server refused the statement; `sqlState` says why.
        case server
    }

    public var kind: Kind
    /// The five-character SQLSTATE of a server error (`40001`, `23505`…).
    public var sqlState: String?
    public var message: String

    public init(_ kind: Kind, sqlState: String? = nil, _ message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    /// A serialization failure or a deadlock: the transaction lost a race and may simply run again.
    public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// The connection is gone (broken, or the server shut down or restarted under it).
    public var isConnectionLost: Bool {
        kind == .connection || sqlState?.hasPrefix("08") == true || ["57P01", "57P02", "57P03"].contains(sqlState ?? "")
    }

    /// A unique or other constraint refused the row (SQLSTATE class 23).
    public var isConstraintViolation: Bool { sqlState?.hasPrefix("23") == true }

    public var description: String {
        switch kind {
        case .library: return message
        case .connection: return "PostgreSQL connection: \(message)"
        case .server: return "PostgreSQL: \(message)\(sqlState.map { " (SQLSTATE \($0))" } ?? "")"
        }
    }
}
