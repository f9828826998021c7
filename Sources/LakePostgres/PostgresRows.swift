/// A statement's result, copied out of libpq's: values in PostgreSQL's text format, read by
/// column position or name.
public struct PostgresRows: Sendable, RandomAccessCollection {
    public let columns: [String]
    let values: [[String?]]
    /// Rows a command changed (INSERT, UPDATE, DELETE), 0 for others.
    public let affected: Int

    public var startIndex: Int { 0 }
    public var endIndex: Int { values.count }
    public subscript(position: Int) -> PostgresRow { PostgresRow(rows: self, index: position) }

    func column(_ name: String) -> Int? { columns.firstIndex(of: name) }
}

/// One row of a result.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    /// The text of a column (nil for NULL).
    public subscript(column: Int) -> String? { rows.values[index][column] }

    public subscript(name: String) -> String? {
        guard let column = rows.column(name) else { preconditionFailure("no column \(name) in \(rows.columns)") }
        return self[column]
    }

    public func string(_ column: Int) -> String? { self[column] }
    public func int64(_ column: Int) -> Int64? { self[column].flatMap { Int64($0) } }
    public func double(_ column: Int) -> Double? { self[column].flatMap(Self.double) }
    public func bool(_ column: Int) -> Bool? { self[column].map { $0 == "t" } }
    public func string(_ name: String) -> String? { self[name] }
    public func int64(_ name: String) -> Int64? { self[name].flatMap { Int64($0) } }
    public func double(_ name: String) -> Double? { self[name].flatMap(Self.double) }
    public func bool(_ name: String) -> Bool? { self[name].map { $0 == "t" } }

    /// float8's text: PostgreSQL ≥ 12 writes the shortest text that reads back exactly, and its
    /// own names for the non-finite values.
    static func double(_ text: String) -> Double? {
        switch text {
        case "NaN": return .nan
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        default: return Double(text)
        }
    }
}

/// A statement's parameter, sent as text.
public protocol PostgresBindable: Sendable {
    var postgresText: String? { get }
}

extension String: PostgresBindable { public var postgresText: String? { self } }
extension Int: PostgresBindable { public var postgresText: String? { String(self) } }
extension Int64: PostgresBindable { public var postgresText: String? { String(self) } }
extension Int32: PostgresBindable { public var postgresText: String? { String(self) } }
extension UInt32: PostgresBindable { public var postgresText: String? { String(self) } }
extension Bool: PostgresBindable { public var postgresText: String? { self ? "t" : "f" } }
extension Double: PostgresBindable {
    public var postgresText: String? {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return "\(self)"   // the shortest text that reads back to the same value
    }
}
extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public var postgresText: String? { self?.postgresText }
}
