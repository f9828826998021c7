import LakePostgres

/// The catalog's SQL on PostgreSQL, through one libpq connection (inside a transaction the
/// catalog opened). The catalog's statements are written with SQLite's `?` and `?N`
/// placeholders; they become `$n` here, once per statement text and connection (the pool keeps
/// this wrapper with its connection, so the translations outlive the transaction). Used by one
/// thread at a time, as its connection is.
final class PostgresSQLConnection: SQLDatabase, @unchecked Sendable {
    let connection: PostgresConnection
    private var translated: [String: String] = [:]
    private(set) var changesCount = 0

    init(_ connection: PostgresConnection) { self.connection = connection }

    var dialect: SQLDialect { .postgres }

    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments, cached: Bool) throws -> SQLResult {
        let text: String
        if let known = translated[sql] { text = known } else {
            text = Self.numberedPlaceholders(sql)
            if cached { translated[sql] = text }
        }
        let result = try connection.run(text, arguments.values.map(Self.parameter), prepare: cached)
        changesCount = result.affected
        let columns = SQLRow.Columns(result.columns)
        let rows = result.indices.map { index in
            let row = result[index]
            return SQLRow(columns: columns, values: (0..<result.columns.count).map { row[$0].map(SQLValue.text) ?? .null })
        }
        return SQLResult(rows: rows, changes: result.affected)
    }

    /// Several statements in one text (the schema's migrations).
    func executeScript(_ sql: String) throws { try connection.runScript(sql) }

    static func parameter(_ value: SQLValue) -> String? {
        switch value {
        case .null: return nil
        case .integer(let value): return String(value)
        case .real(let value): return value.postgresText
        case .text(let value): return value
        case .blob(let bytes):
            // bytea's hex input.
            let digits = Array("0123456789abcdef".utf8)
            var text = [UInt8](arrayLiteral: UInt8(ascii: "\\"), UInt8(ascii: "x"))
            text.reserveCapacity(2 + bytes.count * 2)
            for byte in bytes { text.append(digits[Int(byte >> 4)]); text.append(digits[Int(byte & 15)]) }
            return String(decoding: text, as: UTF8.self)
        }
    }

    /// `?` → `$1, $2…` in order; `?N` → `$N`; none inside quoted text or identifiers.
    static func numberedPlaceholders(_ sql: String) -> String {
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var next = 1
        var quote: Character?
        var characters = sql.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? characters.next() {
            pending = nil
            if let open = quote {
                result.append(character)
                if character == open { quote = nil }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                result.append(character)
            case "?":
                var digits = ""
                while let following = characters.next() {
                    if following.isASCII, following.isNumber { digits.append(following) } else { pending = following; break }
                }
                if digits.isEmpty {
                    result += "$\(next)"
                    next += 1
                } else {
                    result += "$" + digits
                }
            default:
                result.append(character)
            }
        }
        return result
    }
}

