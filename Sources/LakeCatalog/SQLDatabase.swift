import Foundation

/// What the catalog's SQL runs on, inside one transaction: a SQLite connection (GRDB) or a
/// PostgreSQL one. The catalog is written once against this; the two engines differ in the
/// schema's text (`Migrations`) and in the few statements that say `dialect`.
protocol SQLDatabase: AnyObject {
    var dialect: SQLDialect { get }
    /// Runs a statement; `cached`: its text is fixed, so it is compiled (prepared) once per
    /// connection. Returns the rows it gives (none for most writes) and how many rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments, cached: Bool) throws -> SQLResult
    /// Rows the last statement changed.
    var changesCount: Int { get }
}

enum SQLDialect: Sendable {
    case sqlite
    case postgres
}

struct SQLResult {
    var rows: [SQLRow]
    var changes: Int
}

extension SQLDatabase {
    /// A statement whose text is a literal, compiled once per connection.
    @discardableResult
    func run(sql: String, arguments: SQLArguments = []) throws -> Int {
        try execute(sql, arguments, cached: true).changes
    }

    /// A statement whose text is built from values (IN lists, filters): never cached, as each
    /// text would stay compiled for as long as the connection lives.
    @discardableResult
    func runUncached(sql: String, arguments: SQLArguments = []) throws -> Int {
        try execute(sql, arguments, cached: false).changes
    }

    func rows(sql: String, arguments: SQLArguments = [], cached: Bool = true) throws -> [SQLRow] {
        try execute(sql, arguments, cached: cached).rows
    }

    func row(sql: String, arguments: SQLArguments = [], cached: Bool = true) throws -> SQLRow? {
        try execute(sql, arguments, cached: cached).rows.first
    }

    /// The first column of the first row (nil when there is no row or it is NULL).
    func value<Value: SQLReadable>(sql: String, arguments: SQLArguments = [], cached: Bool = true) throws -> Value? {
        guard let row = try row(sql: sql, arguments: arguments, cached: cached) else { return nil }
        return row[0] as Value?
    }

    /// The first column of every row (NULLs left out).
    func values<Value: SQLReadable>(sql: String, arguments: SQLArguments = [], cached: Bool = true) throws -> [Value] {
        try rows(sql: sql, arguments: arguments, cached: cached).compactMap { $0[0] as Value? }
    }

    /// One value by a statement compiled once per connection.
    func value<Value: SQLReadable>(_ type: Value.Type, sql: String, arguments: SQLArguments = []) throws -> Value? {
        try value(sql: sql, arguments: arguments, cached: true)
    }

    /// Every row's first value by a statement compiled once per connection.
    func values<Value: SQLReadable>(_ type: Value.Type, sql: String, arguments: SQLArguments = []) throws -> [Value] {
        try values(sql: sql, arguments: arguments, cached: true)
    }

    // The shapes of GRDB's calls the catalog was first written with: statements built from
    // values, compiled each time.

    @discardableResult
    func execute(sql: String, arguments: SQLArguments = []) throws -> Int {
        try execute(sql, arguments, cached: false).changes
    }

    func fetchAll(sql: String, arguments: SQLArguments = []) throws -> [SQLRow] {
        try execute(sql, arguments, cached: false).rows
    }

    func fetchOne(sql: String, arguments: SQLArguments = []) throws -> SQLRow? {
        try execute(sql, arguments, cached: false).rows.first
    }

    func fetchValue<Value: SQLReadable>(_ type: Value.Type, sql: String, arguments: SQLArguments = [], cached: Bool = false) throws -> Value? {
        try value(sql: sql, arguments: arguments, cached: cached)
    }

    func fetchValues<Value: SQLReadable>(_ type: Value.Type, sql: String, arguments: SQLArguments = [], cached: Bool = false) throws -> [Value] {
        try values(sql: sql, arguments: arguments, cached: cached)
    }
}

/// `?, ?, …` for an IN list of `count` values.
func sqlMarks(_ count: Int) -> String {
    Array(repeating: "?", count: count).joined(separator: ", ")
}

/// A value bound to a statement or read from a row.
enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// What may be bound to a statement.
protocol SQLBindable {
    var sqlValue: SQLValue { get }
}

extension String: SQLBindable { var sqlValue: SQLValue { .text(self) } }
extension Substring: SQLBindable { var sqlValue: SQLValue { .text(String(self)) } }
extension Int: SQLBindable { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Int64: SQLBindable { var sqlValue: SQLValue { .integer(self) } }
extension Int32: SQLBindable { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension UInt32: SQLBindable { var sqlValue: SQLValue { .integer(Int64(self)) } }
extension Double: SQLBindable { var sqlValue: SQLValue { .real(self) } }
/// Stored as 0 and 1 in both engines (the schema's flags are integers).
extension Bool: SQLBindable { var sqlValue: SQLValue { .integer(self ? 1 : 0) } }
extension Data: SQLBindable { var sqlValue: SQLValue { .blob([UInt8](self)) } }
extension SQLValue: SQLBindable { var sqlValue: SQLValue { self } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// A statement's arguments, in order.
struct SQLArguments: ExpressibleByArrayLiteral {
    var values: [SQLValue]

    init(arrayLiteral elements: (any SQLBindable)...) { values = elements.map(\.sqlValue) }
    init(_ elements: [any SQLBindable]) { values = elements.map(\.sqlValue) }
    init(values: [SQLValue]) { self.values = values }

    static func + (lhs: SQLArguments, rhs: SQLArguments) -> SQLArguments { SQLArguments(values: lhs.values + rhs.values) }
    static func += (lhs: inout SQLArguments, rhs: SQLArguments) { lhs.values += rhs.values }
}

/// What may be read from a column. PostgreSQL's values arrive as text; SQLite's typed.
protocol SQLReadable {
    init?(sqlValue: SQLValue)
}

extension String: SQLReadable {
    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .text(let text): self = text
        case .integer(let value): self = String(value)
        case .real(let value): self = "\(value)"
        case .blob(let bytes): self = String(decoding: bytes, as: UTF8.self)
        case .null: return nil
        }
    }
}

extension Int64: SQLReadable {
    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .integer(let value): self = value
        case .real(let value): self = Int64(value)
        case .text(let text): guard let value = Int64(text) else { return nil }; self = value
        default: return nil
        }
    }
}

extension Int: SQLReadable {
    init?(sqlValue: SQLValue) {
        guard let value = Int64(sqlValue: sqlValue) else { return nil }
        self = Int(value)
    }
}

extension Double: SQLReadable {
    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .real(let value): self = value
        case .integer(let value): self = Double(value)
        case .text(let text):
            switch text {
            case "NaN": self = .nan
            case "Infinity": self = .infinity
            case "-Infinity": self = -.infinity
            default: guard let value = Double(text) else { return nil }; self = value
            }
        default: return nil
        }
    }
}

extension Bool: SQLReadable {
    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .integer(let value): self = value != 0
        case .real(let value): self = value != 0
        case .text(let text): self = text == "t" || text == "true" || (Int64(text).map { $0 != 0 } ?? false)
        default: return nil
        }
    }
}

extension Data: SQLReadable {
    init?(sqlValue: SQLValue) {
        switch sqlValue {
        case .blob(let bytes): self = Data(bytes)
        case .text(let text):
            // PostgreSQL's bytea in hex: \x followed by two digits a byte.
            guard text.hasPrefix("\\x") else { self = Data(text.utf8); return }
            var bytes: [UInt8] = []
            var digits = text.utf8.dropFirst(2).makeIterator()
            while let high = digits.next(), let low = digits.next() {
                guard let h = Self.hex(high), let l = Self.hex(low) else { return nil }
                bytes.append(h << 4 | l)
            }
            self = Data(bytes)
        default: return nil
        }
    }

    private static func hex(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 48...57: return digit - 48
        case 97...102: return digit - 87
        case 65...70: return digit - 55
        default: return nil
        }
    }
}

extension Optional: SQLReadable where Wrapped: SQLReadable {
    init?(sqlValue: SQLValue) {
        if case .null = sqlValue { self = .none } else { self = Wrapped(sqlValue: sqlValue) }
    }
}

/// One row of a result, read by column position or name.
struct SQLRow {
    final class Columns {
        let names: [String]
        let byName: [String: Int]
        init(_ names: [String]) {
            self.names = names
            byName = Dictionary(names.enumerated().map { ($1.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        }
    }

    let columns: Columns
    let values: [SQLValue]

    /// A column's value; a NULL or a value of another type reads as nil, or stops the process
    /// for a non-optional type (the schema guarantees these; a wrong one is a bug).
    subscript<Value: SQLReadable>(_ index: Int) -> Value {
        guard let value = Value(sqlValue: values[index]) else {
            preconditionFailure("column \(columns.names[index]) holds \(values[index]), not \(Value.self)")
        }
        return value
    }

    subscript<Value: SQLReadable>(_ name: String) -> Value {
        guard let index = columns.byName[name] ?? columns.byName[name.lowercased()] else {
            preconditionFailure("no column \(name) in \(columns.names)")
        }
        return self[index]
    }

    func has(_ name: String) -> Bool { columns.byName[name] != nil }
}
