import Foundation
import GRDB

/// The catalog's SQL on SQLite, through one of GRDB's connections (inside a transaction the
/// catalog opened).
final class GRDBConnection: SQLDatabase {
    let db: Database

    init(_ db: Database) { self.db = db }

    var dialect: SQLDialect { .sqlite }

    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments, cached: Bool) throws -> SQLResult {
        let statement = cached ? try db.cachedStatement(sql: sql) : try db.makeStatement(sql: sql)
        let bound = StatementArguments(arguments.values.map(Self.databaseValue))
        guard statement.columnCount > 0 else {
            try statement.execute(arguments: bound)
            return SQLResult(rows: [], changes: db.changesCount)
        }
        let fetched = try Row.fetchAll(statement, arguments: bound)
        let columns = SQLRow.Columns(statement.columnNames)
        let rows = fetched.map { row in SQLRow(columns: columns, values: row.databaseValues.map(Self.sqlValue)) }
        return SQLResult(rows: rows, changes: statement.isReadonly ? 0 : db.changesCount)
    }

    var changesCount: Int { db.changesCount }

    /// Several statements in one text (the schema's migrations).
    func executeScript(_ sql: String) throws { try db.execute(sql: sql) }

    static func databaseValue(_ value: SQLValue) -> DatabaseValue {
        switch value {
        case .null: return .null
        case .integer(let value): return value.databaseValue
        case .real(let value): return value.databaseValue
        case .text(let value): return value.databaseValue
        case .blob(let bytes): return Data(bytes).databaseValue
        }
    }

    static func sqlValue(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: return .null
        case .int64(let value): return .integer(value)
        case .double(let value): return .real(value)
        case .string(let value): return .text(value)
        case .blob(let data): return .blob([UInt8](data))
        }
    }
}
