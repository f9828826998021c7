import GRDB
import LakeModel

extension SQLiteCatalog {
    public func createDataset(_ draft: LakeDataset) throws -> LakeDataset {
        try write { db in
            try db.run(sql: """
                INSERT INTO datasets (id, name, description, tags, created_at, created_by, owner_uid, owner_gid, mode)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [draft.id.rawValue, draft.name, draft.description, ObjectRow.json(draft.tags),
                                 draft.createdAt.microseconds, draft.createdBy, Int64(draft.owner.uid), Int64(draft.owner.gid),
                                 Int64(draft.owner.mode)])
            try addCases(db, draft.caseIds, to: draft.id)
            try recordChange(db, draft.id, at: draft.createdAt)
            try audit(db, "dataset.create", draft.id, ["name": .string(draft.name), "cases": .array(draft.caseIds.map { .string($0.rawValue) }),
                                                       "mode": .string(draft.owner.octal)], at: draft.createdAt)
            return try dataset(db, draft.id)!
        }
    }

    public func dataset(_ id: LakeID) throws -> LakeDataset? {
        try read { db in try dataset(db, id) }
    }

    public func datasetCases(_ id: LakeID) throws -> [LakeCase] {
        try read { db in
            guard try db.fetchValue(Bool.self, sql: "SELECT 1 FROM datasets WHERE id = ?", arguments: [id.rawValue]) != nil else {
                throw CatalogError.notFound(id)
            }
            return try CaseRow.fetch(db, where: """
                c.id IN (SELECT case_id FROM dataset_cases WHERE dataset_id = ?)
                ORDER BY (SELECT position FROM dataset_cases WHERE dataset_id = ? AND case_id = c.id)
                """, arguments: [id.rawValue, id.rawValue])
        }
    }

    /// Datasets newest first; with a filter, those with some member object of some case matching it.
    public func datasetsNamed(_ name: String) throws -> [(id: LakeID, frozenAt: Timestamp?)] {
        try read { db in
            try db.fetchAll(sql: "SELECT id, frozen_at FROM datasets WHERE name = ? ORDER BY seq", arguments: [name]).map { row in
                (LakeID(unchecked: row["id"]), (row["frozen_at"] as Int64?).map(Timestamp.init(microseconds:)))
            }
        }
    }

    public func datasets(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeDataset] {
        try read { db in
            var clause = "TRUE"
            var arguments = SQLArguments()
            if !filter.isEmpty {
                let sql = FilterSQL(filter, dialect: db.dialect)
                clause = """
                    EXISTS (SELECT 1 FROM dataset_cases dc JOIN case_members m ON m.case_id = dc.case_id JOIN objects o ON o.id = m.object_id
                            WHERE dc.dataset_id = d.id AND \(sql.whereClause))
                    """
                arguments += sql.arguments
            }
            if let cursor {
                clause += " AND d.seq < (SELECT seq FROM datasets WHERE id = ?)"
                arguments += [cursor.rawValue]
            }
            let ids = try db.fetchValues(String.self, sql: "SELECT d.id FROM datasets d WHERE \(clause) ORDER BY d.seq DESC LIMIT ?",
                                          arguments: arguments + [limit])
            return try ids.compactMap { try dataset(db, LakeID(unchecked: $0)) }
        }
    }

    public func addCases(_ cases: [LakeID], to id: LakeID, at time: Timestamp) throws -> LakeDataset {
        try changeUnfrozen(id, at: time) { db in
            try addCases(db, cases, to: id)
            try audit(db, "dataset.add", id, ["cases": .array(cases.map { .string($0.rawValue) })], at: time)
        }
    }

    public func removeCases(_ cases: [LakeID], from id: LakeID, at time: Timestamp) throws -> LakeDataset {
        try changeUnfrozen(id, at: time) { db in
            for caseID in cases {
                try db.run(sql: "DELETE FROM dataset_cases WHERE dataset_id = ? AND case_id = ?", arguments: [id.rawValue, caseID.rawValue])
                guard db.changesCount == 1 else { throw CatalogError.refused("case \(caseID) is not in dataset \(id)") }
            }
            try audit(db, "dataset.remove", id, ["cases": .array(cases.map { .string($0.rawValue) })], at: time)
        }
    }

    public func updateDataset(_ id: LakeID, name: String?, description: String?, tags: [String: JSONValue]?, at time: Timestamp) throws -> LakeDataset {
        try changeUnfrozen(id, at: time) { db in
            if let name { try db.run(sql: "UPDATE datasets SET name = ? WHERE id = ?", arguments: [name, id.rawValue]) }
            if let description { try db.run(sql: "UPDATE datasets SET description = ? WHERE id = ?", arguments: [description, id.rawValue]) }
            if let tags { try db.run(sql: "UPDATE datasets SET tags = ? WHERE id = ?", arguments: [ObjectRow.json(tags), id.rawValue]) }
            var changed: [String: JSONValue] = [:]
            if let name { changed["name"] = .string(name) }
            if let description { changed["description"] = .string(description) }
            if let tags { changed["tags"] = .object(tags) }
            try audit(db, "dataset.update", id, changed, at: time)
        }
    }

    /// Freezes a READY dataset: its schema (with augmentations), provisions and formats are
    /// recorded and it never changes again.
    public func freezeDataset(_ id: LakeID, augmentations: [String: ParameterDef], at time: Timestamp) throws -> LakeDataset {
        try changeUnfrozen(id, at: time) { db in
            let current = try dataset(db, id)!
            guard current.status == .ready else {
                throw CatalogError.refused("dataset \(id) is \(current.status.rawValue); only a READY dataset can be frozen"
                    + (current.status == .unsettled ? " (wait until its cases settle)" : " (remove its INVALID cases first)"))
            }
            var schema = current.paramsSchema
            for (key, augmentation) in augmentations.sorted(by: { $0.key < $1.key }) {
                guard var entry = schema[key] else {
                    throw CatalogError.refused("cannot augment '\(key)': it is not in the dataset's params_schema"
                        + " (schema: \(schema.keys.sorted().joined(separator: ", ")))")
                }
                if let reference = augmentation.defaultReference {
                    let expected = entry.type == "scalar" ? 1 : Int(entry.type.dropFirst(4)) ?? -1
                    guard reference.count == expected else {
                        throw CatalogError.refused("the default_reference for '\(key)' has \(reference.count) value(s); a \(entry.type) param needs \(expected)")
                    }
                    entry.defaultReference = reference
                }
                if let description = augmentation.description { entry.description = description }
                schema[key] = entry
            }
            try db.run(sql: "UPDATE datasets SET frozen_at = ?, params_schema = ?, provisions = ?, formats = ? WHERE id = ?",
                           arguments: [time.microseconds, ObjectRow.json(schema), ObjectRow.json(current.provisions),
                                       ObjectRow.json(current.formats), id.rawValue])
            try audit(db, "dataset.freeze", id, ["cases": .number(Double(current.caseIds.count))], at: time)
        }
    }

    public func deleteDataset(_ id: LakeID, force: Bool, at time: Timestamp) throws {
        try write { db in
            guard let frozen = try db.fetchOne(sql: "SELECT frozen_at FROM datasets WHERE id = ?", arguments: [id.rawValue]) else {
                throw CatalogError.notFound(id)
            }
            if (frozen["frozen_at"] as Int64?) != nil && !force {
                throw CatalogError.refused("dataset \(id) is frozen; removing it needs --force (its cases and objects stay)")
            }
            try db.run(sql: "DELETE FROM dataset_cases WHERE dataset_id = ?", arguments: [id.rawValue])
            try db.run(sql: "DELETE FROM datasets WHERE id = ?", arguments: [id.rawValue])
            try recordChange(db, id, at: time)
            try audit(db, "dataset.delete", id, ["was_frozen": .bool((frozen["frozen_at"] as Int64?) != nil)], at: time)
        }
    }

    public func frozenDatasetSummaries() throws -> [EntitySummary] {
        try read { db in
            try db.fetchAll(sql: "SELECT id, seq, name, frozen_at, owner_uid, owner_gid, mode FROM datasets WHERE frozen_at IS NOT NULL ORDER BY seq").map { row in
                EntitySummary(id: LakeID(unchecked: row["id"]), seq: row["seq"], isSettled: true, createdAt: Timestamp(microseconds: row["frozen_at"]),
                              owner: ObjectRow.ownership(row), name: row["name"])
            }
        }
    }

    // MARK: helpers

    func changeUnfrozen(_ id: LakeID, at time: Timestamp, _ body: (any SQLDatabase) throws -> Void) throws -> LakeDataset {
        try write { db in
            guard let row = try db.fetchOne(sql: "SELECT frozen_at FROM datasets WHERE id = ?", arguments: [id.rawValue]) else {
                throw CatalogError.notFound(id)
            }
            if (row["frozen_at"] as Int64?) != nil {
                throw CatalogError.refused("dataset \(id) is frozen; a frozen dataset never changes (create a new dataset instead)")
            }
            try body(db)
            try recordChange(db, id, at: time)
            return try dataset(db, id)!
        }
    }

    func addCases(_ db: any SQLDatabase, _ cases: [LakeID], to id: LakeID) throws {
        var position = try db.fetchValue(Int.self, sql: "SELECT COALESCE(MAX(position) + 1, 0) FROM dataset_cases WHERE dataset_id = ?",
                                        arguments: [id.rawValue]) ?? 0
        for caseID in cases {
            guard try db.fetchValue(Bool.self, sql: "SELECT 1 FROM cases WHERE id = ?", arguments: [caseID.rawValue]) != nil else {
                throw CatalogError.notFound(caseID)
            }
            try db.run(sql: "INSERT INTO dataset_cases (dataset_id, case_id, position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                           arguments: [id.rawValue, caseID.rawValue, position])
            position += 1
        }
    }

    /// A dataset as stored, with its status derived now; schema, provisions and formats are
    /// the recorded ones when frozen, else computed from the cases (only once READY).
    func dataset(_ db: any SQLDatabase, _ id: LakeID) throws -> LakeDataset? {
        guard let row = try db.fetchOne(sql: """
            SELECT id, name, description, frozen_at, params_schema, provisions, formats, tags, created_at, created_by,
                   owner_uid, owner_gid, mode
            FROM datasets WHERE id = ?
            """, arguments: [id.rawValue]) else { return nil }
        let caseIds = try db.fetchValues(String.self, sql: "SELECT case_id FROM dataset_cases WHERE dataset_id = ? ORDER BY position",
                                          arguments: [id.rawValue]).map(LakeID.init(unchecked:))
        var dataset = LakeDataset(id: id, name: row["name"], description: row["description"], status: .ready,
                                  frozenAt: (row["frozen_at"] as Int64?).map(Timestamp.init(microseconds:)), caseIds: caseIds,
                                  tags: try ObjectRow.decode([String: JSONValue].self, row["tags"]),
                                  createdAt: Timestamp(microseconds: row["created_at"]), createdBy: row["created_by"],
                                  owner: ObjectRow.ownership(row))
        if dataset.isFrozen, let schema: String = row["params_schema"], let provisions: String = row["provisions"], let formats: String = row["formats"] {
            dataset.paramsSchema = try ObjectRow.decode([String: ParameterDef].self, schema)
            dataset.provisions = try ObjectRow.decode([Provision].self, provisions)
            dataset.formats = try ObjectRow.decode([String].self, formats)
            return dataset
        }
        let statuses = try db.fetchValues(String.self, sql: """
            SELECT DISTINCT c.status FROM dataset_cases dc JOIN cases c ON c.id = dc.case_id WHERE dc.dataset_id = ?
            """, arguments: [id.rawValue]).compactMap(CaseStatus.init(rawValue:))
        dataset.status = DatasetStatus.derived(from: statuses)
        if dataset.status == .invalid, let row = try db.fetchOne(sql: """
            SELECT c.id, c.failure_reason FROM dataset_cases dc JOIN cases c ON c.id = dc.case_id
            WHERE dc.dataset_id = ? AND c.status = 'INVALID' ORDER BY dc.position LIMIT 1
            """, arguments: [id.rawValue]) {
            dataset.failureReason = "case \(row["id"] as String) is INVALID: \(row["failure_reason"] as String? ?? "no reason recorded")"
                + "; remove it from the dataset to make it READY"
        }
        guard dataset.status == .ready, !caseIds.isEmpty else { return dataset }
        let cases = try CaseRow.fetch(db, where: "c.id IN (SELECT case_id FROM dataset_cases WHERE dataset_id = ?)", arguments: [id.rawValue])
        dataset.paramsSchema = DatasetSummary.paramsSchema(cases)
        dataset.formats = DatasetSummary.formats(cases)
        switch Collapse.intersection(cases.map(\.provisions)) {
        case .success(let provisions): dataset.provisions = provisions
        case .failure(let conflict):
            // Cases that collapse differently cannot be pooled; the dataset cannot be READY.
            dataset.status = .invalid
            dataset.paramsSchema = [:]
            dataset.failureReason = "its cases' fields cannot be pooled: \(conflict.reason)"
        }
        return dataset
    }
}
