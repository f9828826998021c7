import GRDB
import LakeModel

/// Creating and settling cases inside catalog transactions, with the rules of `CaseUnion`.
enum CaseRules {
    static func members(_ db: any SQLDatabase, caseID: String) throws -> [CaseMember] {
        try db.fetchAll(sql: "SELECT object_id, label, param_mapping, field_mapping FROM case_members WHERE case_id = ? ORDER BY position",
                         arguments: [caseID]).map { row in
            CaseMember(objectId: LakeID(unchecked: row["object_id"]), label: row["label"],
                       paramMapping: try mapping(row["param_mapping"]), fieldMapping: try mapping(row["field_mapping"]))
        }
    }

    static func mapping(_ text: String) throws -> [String: String?] {
        try ObjectRow.decode([String: JSONValue].self, text).mapValues { value -> String? in
            if case .string(let name) = value { return name }
            return nil
        }
    }

    static func mappingJSON(_ mapping: [String: String?]) -> String {
        ObjectRow.json(mapping.mapValues { $0.map(JSONValue.string) ?? .null })
    }

    /// Status, reason, provisions and formats of a case whose members are `objects`.
    /// A READY case's members' meshes pooled, as JSON (nil when none has one).
    static func mesh(_ status: CaseStatus, _ pairs: [CaseUnion.Member]) -> String? {
        guard status == .ready else { return nil }
        return MeshSummary.pooled(pairs.compactMap(\.object.mesh)).map { ObjectRow.json($0) }
    }

    static func settle(_ pairs: [CaseUnion.Member]) -> (CaseStatus, String?, [Provision], [String]) {
        if let failed = pairs.first(where: { $0.object.status == .failed }) {
            return (.invalid, "member \(failed.object.id) FAILED: \(failed.object.failureReason ?? "no reason recorded")", [], [])
        }
        guard pairs.allSatisfy({ $0.object.status == .ready }) else { return (.unsettled, nil, [], []) }
        do {
            try CaseUnion.checkFieldMappings(pairs)
        } catch {
            return (.invalid, error.message, [], [])
        }
        switch CaseUnion.provisions(pairs) {
        case .success(let provisions): return (.ready, nil, provisions, CaseUnion.formats(pairs.map(\.object)))
        case .failure(let conflict): return (.invalid, conflict.reason, [], [])
        }
    }

    /// Settles every UNSETTLED case that has `object` as a member and whose members are all terminal.
    static func settleCases(_ db: any SQLDatabase, containing object: LakeID, at time: Timestamp, blobURI: (String) -> String) throws {
        let ids = try db.values(String.self, sql: """
            SELECT DISTINCT c.id FROM case_members m JOIN cases c ON c.id = m.case_id
            WHERE m.object_id = ? AND c.status = 'UNSETTLED'
            """, arguments: [object.rawValue])
        for id in ids {
            let members = try members(db, caseID: id)
            let objects = try ObjectRow.fetch(db, where: "id IN (\(sqlMarks(members.count)))",
                                              arguments: SQLArguments(members.map(\.objectId.rawValue)), blobURI: blobURI)
            let byID = Dictionary(uniqueKeysWithValues: objects.map { ($0.id, $0) })
            let pairs = members.compactMap { member in byID[member.objectId].map { (member: member, object: $0) } }
            let (status, reason, provisions, formats) = settle(pairs)
            guard status != .unsettled else { continue }
            try db.run(sql: "UPDATE cases SET status = ?, failure_reason = ?, provisions = ?, formats = ?, mesh = ? WHERE id = ?",
                           arguments: [status.rawValue, reason, ObjectRow.json(provisions), ObjectRow.json(formats),
                                       mesh(status, pairs), id])
            try db.run(sql: "INSERT INTO changes (entity_id, at) VALUES (?, ?)", arguments: [id, time.microseconds])
        }
    }
}

/// Reading cases from rows.
enum CaseRow {
    /// Cases and their members, the members read in batches rather than one query per case.
    static func fetch(_ db: any SQLDatabase, where clause: String, arguments: SQLArguments) throws -> [LakeCase] {
        let rows = try db.fetchAll(sql: """
            SELECT id, name, status, failure_reason, params, case_params, provisions, formats, tags, created_at, created_by,
                   owner_uid, owner_gid, mode, mesh
            FROM cases c WHERE \(clause)
            """, arguments: arguments)
        var members: [String: [CaseMember]] = [:]
        let ids: [String] = rows.map { $0["id"] }
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = Array(ids[start..<min(ids.count, start + 500)])
            for row in try db.fetchAll(sql: """
                SELECT case_id, object_id, label, param_mapping, field_mapping FROM case_members
                WHERE case_id IN (\(sqlMarks(chunk.count))) ORDER BY case_id, position
                """, arguments: SQLArguments(chunk)) {
                members[row["case_id"], default: []].append(CaseMember(
                    objectId: LakeID(unchecked: row["object_id"]), label: row["label"],
                    paramMapping: try CaseRules.mapping(row["param_mapping"]), fieldMapping: try CaseRules.mapping(row["field_mapping"])))
            }
        }
        return try rows.map { row in
            var item = LakeCase(id: LakeID(unchecked: row["id"]), name: row["name"], status: CaseStatus(rawValue: row["status"]) ?? .invalid,
                     failureReason: row["failure_reason"], members: members[row["id"]] ?? [],
                     params: try ObjectRow.decode([String: Param].self, row["params"]),
                     caseParams: try ObjectRow.decode([String: Param].self, row["case_params"]),
                     provisions: try ObjectRow.decode([Provision].self, row["provisions"]),
                     formats: try ObjectRow.decode([String].self, row["formats"]),
                     tags: try ObjectRow.decode([String: JSONValue].self, row["tags"]),
                     createdAt: Timestamp(microseconds: row["created_at"]), createdBy: row["created_by"],
                     owner: ObjectRow.ownership(row))
            item.mesh = try (row["mesh"] as String?).map { try ObjectRow.decode(MeshSummary.self, $0) }
            return item
        }
    }
}
