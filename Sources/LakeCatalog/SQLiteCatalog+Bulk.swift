import GRDB
import LakeModel

extension SQLiteCatalog {
    /// Records objects that are already settled (status, provisions and all) in one
    /// transaction, with their filter index rows. This is how `lake-bench filters` builds a
    /// catalog of a million objects in minutes; uploads never come this way.
    public func insertSettledObjects(_ objects: [LakeObject]) throws {
        try write { db in
            for object in objects {
                if let blob = object.file.blob {
                    try db.execute(sql: "INSERT INTO blobs (id, size, md5, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                                   arguments: [blob.id, blob.size, blob.contentHash.md5, object.createdAt.microseconds])
                }
                let inserted = try db.value(Int64.self, sql: """
                    INSERT INTO objects (id, name, description, file_name, blob_id, format, status, failure_reason, tags, provisions,
                                         annotations, warnings, geometry_units, created_at, uploaded_at, processed_at, created_by,
                                         owner_uid, owner_gid, mode)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq
                    """, arguments: [object.id.rawValue, object.name, object.description, object.file.name, object.file.blob?.id, object.format.rawValue,
                                     object.status.rawValue, object.failureReason, ObjectRow.json(object.tags),
                                     ObjectRow.json(object.provisions), ObjectRow.json(object.annotations), ObjectRow.json(object.warnings),
                                     object.geometryUnits, object.createdAt.microseconds, object.uploadedAt?.microseconds,
                                     object.processedAt?.microseconds, object.createdBy, Int64(object.owner.uid),
                                     Int64(object.owner.gid), Int64(object.owner.mode)])
                guard let seq = inserted else { throw CatalogError.database("an inserted object gave no seq") }
                for (key, param) in object.params { try insertParam(db, object.id, key, param) }
                try FilterIndex.insert(db, seq: seq, tags: object.tags, provisions: object.provisions)
            }
            if let last = objects.last { try recordChange(db, last.id, at: .now) }
        }
    }

    public func objects(ids: [LakeID]) throws -> [(seq: Int64, object: LakeObject)] {
        try read { db in
            var result: [(seq: Int64, object: LakeObject)] = []
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = ids[start..<min(ids.count, start + 500)].map(\.rawValue)
                let marks = sqlMarks(chunk.count)
                var seqs: [String: Int64] = [:]
                for row in try db.fetchAll(sql: "SELECT id, seq FROM objects WHERE id IN (\(marks))", arguments: SQLArguments(chunk)) {
                    seqs[row["id"]] = row["seq"]
                }
                for object in try fetchObjects(db, where: "id IN (\(marks))", SQLArguments(chunk)) {
                    if let seq = seqs[object.id.rawValue] { result.append((seq, object)) }
                }
            }
            return result
        }
    }

    public func liveObjectIDs(among ids: [LakeID]) throws -> Set<LakeID> {
        try read { db in
            var live = Set<LakeID>()
            for start in stride(from: 0, to: ids.count, by: 500) {
                let chunk = ids[start..<min(ids.count, start + 500)].map(\.rawValue)
                let sql = "SELECT id FROM objects WHERE id IN (\(sqlMarks(chunk.count))) AND trashed_at IS NULL"
                for id in try db.fetchValues(String.self, sql: sql, arguments: SQLArguments(chunk)) { live.insert(LakeID(unchecked: id)) }
            }
            return live
        }
    }

    /// Refreshes the query planner's statistics (worth it after a large import).
    public func analyze() throws {
        // A sample per index is enough for the planner, and keeps this quick on a large catalog.
        try write { db in
            switch db.dialect {
            case .sqlite: try (db as! GRDBConnection).executeScript("PRAGMA analysis_limit = 1000; ANALYZE")
            case .postgres: try db.execute(sql: "ANALYZE")
            }
        }
    }
}
