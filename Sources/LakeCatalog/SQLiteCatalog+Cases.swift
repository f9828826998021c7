import GRDB
import LakeModel

extension SQLiteCatalog {
    public func createCase(_ draft: LakeCase) throws -> LakeCase {
        try write { db in
            guard !draft.members.isEmpty else { throw CatalogError.refused("a case needs at least one member object (--object ID)") }
            var seen = Set<LakeID>()
            var pairs: [CaseUnion.Member] = []
            for member in draft.members {
                guard seen.insert(member.objectId).inserted else {
                    throw CatalogError.refused("object \(member.objectId) is listed twice; a case holds each object once")
                }
                guard let object = try ObjectRow.fetch(db, id: member.objectId.rawValue, blobURI: blobURI) else {
                    throw CatalogError.notFound(member.objectId)
                }
                try Self.refuseTrashed(object)
                pairs.append((member, object))
            }
            let params: [String: Param]
            do throws(InputError) {
                params = try CaseUnion.params(pairs, caseParams: draft.caseParams)
                try CaseUnion.checkFieldMappings(pairs)
            } catch {
                throw CatalogError.refused(error.message)
            }
            let (status, reason, provisions, formats) = CaseRules.settle(pairs)
            try db.run(sql: """
                INSERT INTO cases (id, name, status, failure_reason, params, case_params, provisions, formats, tags, created_at, created_by,
                                   owner_uid, owner_gid, mode, mesh)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [draft.id.rawValue, draft.name, status.rawValue, reason, ObjectRow.json(params),
                                 ObjectRow.json(draft.caseParams), ObjectRow.json(provisions), ObjectRow.json(formats),
                                 ObjectRow.json(draft.tags), draft.createdAt.microseconds, draft.createdBy,
                                 Int64(draft.owner.uid), Int64(draft.owner.gid), Int64(draft.owner.mode),
                                 CaseRules.mesh(status, pairs)])
            for (position, member) in draft.members.enumerated() {
                try db.run(sql: """
                    INSERT INTO case_members (case_id, position, object_id, label, param_mapping, field_mapping) VALUES (?, ?, ?, ?, ?, ?)
                    """, arguments: [draft.id.rawValue, position, member.objectId.rawValue, member.label,
                                     CaseRules.mappingJSON(member.paramMapping), CaseRules.mappingJSON(member.fieldMapping)])
            }
            try recordChange(db, draft.id, at: draft.createdAt)
            try audit(db, "case.create", draft.id, ["name": .string(draft.name), "objects": .array(draft.members.map { .string($0.objectId.rawValue) }),
                                                    "mode": .string(draft.owner.octal)], at: draft.createdAt)
            return try CaseRow.fetch(db, where: "id = ?", arguments: [draft.id.rawValue])[0]
        }
    }

    public func `case`(_ id: LakeID) throws -> LakeCase? {
        try read { db in try CaseRow.fetch(db, where: "id = ?", arguments: [id.rawValue]).first }
    }

    /// Cases newest first; with a filter, those with some member object matching it.
    public func cases(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeCase] {
        try read { db in
            var clause = "TRUE"
            var arguments = SQLArguments()
            if !filter.isEmpty {
                let sql = FilterSQL(filter, dialect: db.dialect)
                clause = "EXISTS (SELECT 1 FROM case_members m JOIN objects o ON o.id = m.object_id WHERE m.case_id = c.id AND \(sql.whereClause))"
                arguments += sql.arguments
            }
            if let cursor {
                clause += " AND c.seq < (SELECT seq FROM cases WHERE id = ?)"
                arguments += [cursor.rawValue]
            }
            return try CaseRow.fetch(db, where: "\(clause) ORDER BY c.seq DESC LIMIT ?", arguments: arguments + [limit])
        }
    }

    public func updateCase(_ id: LakeID, name: String?, tags: [String: JSONValue]?, at time: Timestamp) throws -> LakeCase {
        try write { db in
            guard try db.fetchValue(Bool.self, sql: "SELECT 1 FROM cases WHERE id = ?", arguments: [id.rawValue]) != nil else {
                throw CatalogError.notFound(id)
            }
            if let name { try db.run(sql: "UPDATE cases SET name = ? WHERE id = ?", arguments: [name, id.rawValue]) }
            if let tags { try db.run(sql: "UPDATE cases SET tags = ? WHERE id = ?", arguments: [ObjectRow.json(tags), id.rawValue]) }
            try recordChange(db, id, at: time)
            var changed: [String: JSONValue] = [:]
            if let name { changed["name"] = .string(name) }
            if let tags { changed["tags"] = .object(tags) }
            try audit(db, "case.update", id, changed, at: time)
            return try CaseRow.fetch(db, where: "id = ?", arguments: [id.rawValue])[0]
        }
    }

    /// Removes a case (its objects stay); refused while a frozen dataset holds it. Unfrozen
    /// datasets that hold it lose it.
    public func deleteCase(_ id: LakeID, at time: Timestamp) throws {
        try write { db in
            guard try db.fetchValue(Bool.self, sql: "SELECT 1 FROM cases WHERE id = ?", arguments: [id.rawValue]) != nil else {
                throw CatalogError.notFound(id)
            }
            if let frozen = try db.fetchValue(String.self, sql: """
                SELECT d.id FROM dataset_cases dc JOIN datasets d ON d.id = dc.dataset_id
                WHERE dc.case_id = ? AND d.frozen_at IS NOT NULL LIMIT 1
                """, arguments: [id.rawValue]) {
                throw CatalogError.refused("case \(id) belongs to frozen dataset \(frozen); a frozen dataset never changes, so its cases stay")
            }
            for dataset in try db.fetchValues(String.self, sql: "DELETE FROM dataset_cases WHERE case_id = ? RETURNING dataset_id", arguments: [id.rawValue]) {
                try recordChange(db, LakeID(unchecked: dataset), at: time)
            }
            try db.run(sql: "DELETE FROM case_members WHERE case_id = ?", arguments: [id.rawValue])
            try db.run(sql: "DELETE FROM cases WHERE id = ?", arguments: [id.rawValue])
            try recordChange(db, id, at: time)
            try audit(db, "case.delete", id, at: time)
        }
    }

    public func caseSummaries() throws -> [EntitySummary] {
        try read { db in
            try db.fetchAll(sql: "SELECT id, seq, status, created_at, owner_uid, owner_gid, mode FROM cases ORDER BY seq").map { row in
                EntitySummary(id: LakeID(unchecked: row["id"]), seq: row["seq"], isSettled: row["status"] as String != CaseStatus.unsettled.rawValue,
                              createdAt: Timestamp(microseconds: row["created_at"]), owner: ObjectRow.ownership(row))
            }
        }
    }

    public func entitySeq(_ id: LakeID) throws -> Int64? {
        try read { db in
            switch id.kind {
            case .case?: try db.value(Int64.self, sql: "SELECT seq FROM cases WHERE id = ?", arguments: [id.rawValue])
            case .dataset?: try db.value(Int64.self, sql: "SELECT seq FROM datasets WHERE id = ?", arguments: [id.rawValue])
            default: nil
            }
        }
    }

    public func entity(seq: Int64, kind: LakeID.Kind) throws -> LakeID? {
        try read { db in
            let id: String? = switch kind {
            case .case: try db.value(String.self, sql: "SELECT id FROM cases WHERE seq = ?", arguments: [seq])
            case .dataset: try db.value(String.self, sql: "SELECT id FROM datasets WHERE seq = ?", arguments: [seq])
            default: nil
            }
            return id.map(LakeID.init(unchecked:))
        }
    }

    /// Objects newest first matching `filter`, after the cursor (an object id).
    ///
    /// The plan: every axis is checked with an indexed EXISTS, and one axis drives the search.
    /// Bounded counts (at most `smallArm` + 1 index entries each) find the narrowest axis;
    /// a tag is walked newest first straight from its index; a narrow param or provision axis
    /// gives candidates to sort; when every axis is wide, objects are walked newest first and
    /// the first page fills quickly.
    /// The rows PostgreSQL's planner expects `sql` to give (EXPLAIN, not run).
    static func plannedRows(_ db: any SQLDatabase, _ sql: String, _ arguments: SQLArguments) throws -> Int {
        let plan: String = try db.fetchValue(String.self, sql: "EXPLAIN (FORMAT JSON) \(sql)", arguments: arguments) ?? ""
        guard let range = plan.range(of: "\"Plan Rows\": ") else { return Int.max }
        return Int(plan[range.upperBound...].prefix { $0.isNumber }) ?? Int.max
    }

    public func objects(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeObject] {
        try read { db in
            let page = try objectPage(db, matching: filter, limit: limit, after: cursor)
            guard !page.isEmpty else { return [] }
            return try fetchObjects(db, where: "seq IN (\(sqlMarks(page.count))) ORDER BY seq DESC",
                                    SQLArguments(page))
        }
    }

    /// The seqs of a page of objects matching `filter`, newest first (`objects(matching:…)`,
    /// `storedObjects`).
    func objectPage(_ db: any SQLDatabase, matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [Int64] {
        let sql = FilterSQL(filter, dialect: db.dialect)
        var clause = sql.whereClause + " AND o.trashed_at IS NULL"
        var arguments = sql.arguments
        if let cursor {
            clause += " AND o.seq < (SELECT seq FROM objects WHERE id = ?)"
            arguments += [cursor.rawValue]
        }
        var driver: (arm: FilterSQL.Arm, count: Int)?
        for arm in sql.arms {
            let probe = arm.estimate ?? arm.select
            let probeArguments = arm.estimate == nil ? arm.arguments : arm.estimateArguments
            let count: Int
            switch db.dialect {
            case .sqlite:
                count = try db.fetchValue(Int.self, sql: "SELECT count(*) FROM (\(probe) LIMIT \(smallArm + 1)) AS bounded",
                                          arguments: probeArguments) ?? 0
            case .postgres:
                // The planner's estimate from its statistics: counting up to 50,001 index
                // entries per axis took most of a query's 70 ms at 1,000,000 objects.
                count = min(smallArm + 1, try Self.plannedRows(db, probe, probeArguments))
            }
            if driver == nil || count < driver!.count { driver = (arm, count) }
        }
        let seqs: String
        // SQLite's CROSS JOIN keeps the driving axis first; PostgreSQL's planner orders joins itself.
        let join = db.dialect == .sqlite ? "CROSS JOIN" : "JOIN"
        if let (arm, count) = driver, count <= smallArm || arm.ordered {
            if arm.ordered {
                seqs = """
                    SELECT o.seq FROM object_tags d \(join) objects o ON o.seq = d.object_seq
                    WHERE \(arm.orderedWhere) AND \(clause) ORDER BY d.object_seq DESC LIMIT ?
                    """
            } else {
                seqs = "SELECT o.seq FROM (SELECT DISTINCT object_seq FROM (\(arm.select)) AS a) d \(join) objects o ON o.seq = d.object_seq WHERE \(clause) ORDER BY o.seq DESC LIMIT ?"
            }
            arguments = arm.arguments + arguments
        } else {
            seqs = "SELECT o.seq FROM objects o WHERE \(clause) ORDER BY o.seq DESC LIMIT ?"
        }
        // The page's seqs first, then their rows: asked in one statement, SQLite may walk
        // the whole objects table to keep the order instead of looking the page up.
        return try db.fetchValues(Int64.self, sql: seqs, arguments: arguments + [limit])
    }

}
