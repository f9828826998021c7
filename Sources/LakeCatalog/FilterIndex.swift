import GRDB
import LakeModel

/// `object_fields` and `object_tags`: an object's provisions and tags in the shape indexed
/// filters need. Rewritten in the transaction that changes the object.
enum FilterIndex {
    static func refresh(_ db: any SQLDatabase, objectID: String) throws {
        guard let row = try db.row(sql: "SELECT seq, tags, provisions FROM objects WHERE id = ?", arguments: [objectID]) else { return }
        try write(db, seq: row["seq"], tags: row["tags"], provisions: row["provisions"])
    }

    /// The same, when the caller has just written provisions (processing): they are not read
    /// back and decoded again — with histograms they are the largest column by far.
    static func refresh(_ db: any SQLDatabase, objectID: String, fields: [FieldRow]) throws {
        guard let row = try db.row(sql: "SELECT seq, tags FROM objects WHERE id = ?", arguments: [objectID]) else { return }
        let seq: Int64 = row["seq"]
        try clear(db, seq: seq)
        try insert(db, seq: seq, tags: try ObjectRow.decode([String: JSONValue].self, row["tags"]), fields: fields)
    }

    static func rebuildAll(_ db: any SQLDatabase) throws {
        for row in try db.fetchAll(sql: "SELECT seq, tags, provisions FROM objects") {
            try write(db, seq: row["seq"], tags: row["tags"], provisions: row["provisions"])
        }
    }

    static func write(_ db: any SQLDatabase, seq: Int64, tags: String, provisions: String) throws {
        try clear(db, seq: seq)
        try insert(db, seq: seq, tags: try ObjectRow.decode([String: JSONValue].self, tags),
                   provisions: try ObjectRow.decode([Provision].self, provisions))
    }

    static func clear(_ db: any SQLDatabase, seq: Int64) throws {
        try db.run(sql: "DELETE FROM object_fields WHERE object_seq = ?", arguments: [seq])
        try db.run(sql: "DELETE FROM object_tags WHERE object_seq = ?", arguments: [seq])
    }

    static let batch = 500
    static let fullBatch = insertFields(rows: batch)

    static func insertFields(rows: Int) -> String {
        "INSERT INTO object_fields (object_seq, position, label, element_assoc, quantity_type, units, mag_min, mag_max, mag_mean) VALUES "
            + Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: rows).joined(separator: ", ")
    }

    /// What the index keeps of one field.
    struct FieldRow: Sendable, Equatable {
        var position: Int
        var label: String
        var elementAssoc: ElementAssoc
        var quantityType: String?
        var units: String?
        var magnitudeMin: Double?
        var magnitudeMax: Double?
        var magnitudeMean: Double?
    }

    static func rows(_ provisions: [Provision]) -> [FieldRow] {
        provisions.enumerated().compactMap { position, provision in
            guard case .field(let field) = provision else { return nil }
            return FieldRow(position: position, label: field.label, elementAssoc: field.elementAssoc, quantityType: field.quantityType,
                            units: field.units, magnitudeMin: field.magnitudeStats.min, magnitudeMax: field.magnitudeStats.max,
                            magnitudeMean: field.magnitudeStats.mean)
        }
    }

    /// The rows of an object that has none yet.
    static func insert(_ db: any SQLDatabase, seq: Int64, tags: [String: JSONValue], provisions: [Provision]) throws {
        try insert(db, seq: seq, tags: tags, fields: rows(provisions))
    }

    /// Fields go in by batches of up to `batch` rows a statement: on PostgreSQL each statement
    /// is a round trip while the cluster's write lock is held, and a file of 20,000 fields took
    /// 2.8 s of them one row at a time.
    static func insert(_ db: any SQLDatabase, seq: Int64, tags: [String: JSONValue], fields: [FieldRow]) throws {
        var start = 0
        while start < fields.count {
            let rows = fields[start..<min(start + batch, fields.count)]
            var arguments = SQLArguments()
            for field in rows {
                arguments += [seq, field.position, field.label, field.elementAssoc.rawValue, field.quantityType, field.units,
                              field.magnitudeMin, field.magnitudeMax, field.magnitudeMean]
            }
            let sql = rows.count == batch ? fullBatch : insertFields(rows: rows.count)
            // Only the full batch's text recurs; a shorter one is not kept compiled.
            if rows.count == batch { try db.run(sql: sql, arguments: arguments) } else { try db.runUncached(sql: sql, arguments: arguments) }
            start += rows.count
        }
        for leaf in TagLeaves.of(tags) {
            try db.run(sql: "INSERT INTO object_tags (object_seq, path, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           arguments: [seq, leaf.path, leaf.value])
        }
    }
}

/// An ObjectFilter as SQL over `objects` (aliased `o`): every axis is an indexed lookup.
struct FilterSQL {
    var clauses: [String] = []
    var arguments = SQLArguments()
    /// Each indexed axis on its own, as a query for the seqs it admits: one of them can drive
    /// the search (see `SQLiteCatalog.objects(matching:)`).
    var arms: [Arm] = []

    struct Arm {
        var select: String
        var arguments: SQLArguments
        /// Its index yields seqs in order, so it can be walked newest first without sorting:
        /// the conditions on the table aliased `d`, whose `object_seq` is the order.
        var ordered: Bool
        var orderedWhere = ""
        /// A query whose rows bound the axis's size from above using an index alone (nil: the
        /// select itself is index-only).
        var estimate: String?
        var estimateArguments = SQLArguments()
    }

    init(_ filter: ObjectFilter, dialect: SQLDialect) {
        if !filter.statuses.isEmpty {
            clauses.append("o.status IN (\(sqlMarks(filter.statuses.count)))")
            arguments += SQLArguments(filter.statuses.map(\.rawValue))
        }
        if !filter.formats.isEmpty {
            clauses.append("o.format IN (\(sqlMarks(filter.formats.count)))")
            arguments += SQLArguments(filter.formats.map(\.rawValue))
        }
        if let text = filter.nameContains, !text.isEmpty {
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            // Case folded (ASCII) in both: SQLite's LIKE does, PostgreSQL's ILIKE does.
            clauses.append(dialect == .sqlite ? "o.name LIKE ? ESCAPE '\\'" : "o.name ILIKE ? ESCAPE '\\'")
            arguments += ["%" + escaped + "%"]
        }
        for contained in filter.tags {
            for leaf in TagLeaves.of(contained) {
                clauses.append("EXISTS (SELECT 1 FROM object_tags t WHERE t.object_seq = o.seq AND t.path = ? AND t.value = ?)")
                arguments += [leaf.path, leaf.value]
                arms.append(Arm(select: "SELECT object_seq FROM object_tags WHERE path = ? AND value = ?",
                                arguments: [leaf.path, leaf.value], ordered: true, orderedWhere: "d.path = ? AND d.value = ?"))
            }
        }
        for param in filter.params {
            var conditions = ["p.object_id = o.id", "p.key = ?"]
            var values: [any SQLBindable] = [param.key]
            switch param.matcher {
            case .number(let range):
                for (op, value) in range.bounds {
                    conditions.append("p.num_value \(op) ?")
                    values.append(value)
                }
                if range.bounds.isEmpty { conditions.append("p.num_value IS NOT NULL") }
            case .string(let text):
                conditions.append("p.str_value = ?")
                values.append(text)
            case .bool(let flag):
                conditions.append("p.bool_value = ?")
                values.append(flag ? 1 : 0)
            }
            clauses.append("EXISTS (SELECT 1 FROM object_params p WHERE \(conditions.joined(separator: " AND ")))")
            arguments += SQLArguments(values)
            arms.append(Arm(select: "SELECT p.object_seq FROM object_params p WHERE \(conditions.dropFirst().joined(separator: " AND "))",
                            arguments: SQLArguments(values), ordered: false))
        }
        for provision in filter.provisions {
            var conditions = ["f.object_seq = o.seq"]
            var values: [any SQLBindable] = []
            if let label = provision.label { conditions.append("f.label = ?"); values.append(label) }
            if let text = provision.labelContains { conditions.append(dialect == .sqlite ? "instr(f.label, ?) > 0" : "strpos(f.label, ?) > 0"); values.append(text) }
            if let type = provision.quantityType { conditions.append("f.quantity_type = ?"); values.append(type) }
            if let assoc = provision.elementAssoc { conditions.append("f.element_assoc = ?"); values.append(assoc.rawValue) }
            if let units = provision.units { conditions.append("f.units = ?"); values.append(units) }
            for (column, range) in [("f.mag_min", provision.magMin), ("f.mag_max", provision.magMax), ("f.mag_mean", provision.magMean)] {
                for (op, value) in range.bounds {
                    conditions.append("\(column) \(op) ?")
                    values.append(value)
                }
            }
            clauses.append("EXISTS (SELECT 1 FROM object_fields f WHERE \(conditions.joined(separator: " AND ")))")
            arguments += SQLArguments(values)
            // Only a quantity type (with one magnitude range) has an index to size and walk the axis by.
            if let type = provision.quantityType {
                var estimate = ["quantity_type = ?"]
                var estimateValues: [any SQLBindable] = [type]
                if let (column, range) = [("mag_max", provision.magMax), ("mag_min", provision.magMin), ("mag_mean", provision.magMean)]
                    .first(where: { !$0.1.bounds.isEmpty }) {
                    for (op, value) in range.bounds where op != "!=" {
                        estimate.append("\(column) \(op) ?")
                        estimateValues.append(value)
                    }
                }
                arms.append(Arm(select: "SELECT f.object_seq FROM object_fields f WHERE \(conditions.dropFirst().joined(separator: " AND "))",
                                arguments: SQLArguments(values), ordered: false,
                                estimate: "SELECT 1 FROM object_fields WHERE \(estimate.joined(separator: " AND "))",
                                estimateArguments: SQLArguments(estimateValues)))
            } else if let label = provision.label {
                // A field's exact name has its own index (object_fields_by_label).
                arms.append(Arm(select: "SELECT f.object_seq FROM object_fields f WHERE \(conditions.dropFirst().joined(separator: " AND "))",
                                arguments: SQLArguments(values), ordered: false,
                                estimate: "SELECT 1 FROM object_fields WHERE label = ?", estimateArguments: [label]))
            }
        }
    }

    var whereClause: String { clauses.isEmpty ? "TRUE" : clauses.joined(separator: " AND ") }
}
