import GRDB
import LakeModel

/// The trash: `lake object rm` marks objects trashed (their rows, blobs and history stay, and
/// every listing, filter, the mount and processing leave them out); `restore` unmarks them;
/// `purge` deletes their rows, after which `lake gc` frees blobs no other object uses. Each
/// call is one transaction over all the ids it is given, so a manifest and its blocks go, come
/// back and are purged together.
extension SQLiteCatalog {
    static func refuseTrashed(_ object: LakeObject) throws {
        guard let trash = object.trash else { return }
        throw CatalogError.refused("object \(object.id) is in the trash (moved there \(trash.trashedAt.rfc3339) by \(trash.trashedBy)); "
                                   + "restore it first: lake trash restore \(object.id)")
    }

    public func trashObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] {
        let ids = Self.unique(ids)
        let leaving = Set(ids.map(\.rawValue))
        return try write { db in
            var trashed: [LakeObject] = []
            for id in ids {
                guard var object = try ObjectRow.fetch(db, id: id.rawValue, blobURI: blobURI) else { throw CatalogError.notFound(id) }
                if let trash = object.trash {
                    throw CatalogError.refused("object \(id) is already in the trash (since \(trash.trashedAt.rfc3339))")
                }
                try refuseIfUsed(db, id, leaving: leaving)
                try db.run(sql: "UPDATE objects SET trashed_at = ?, trashed_by = ? WHERE id = ?",
                           arguments: [time.microseconds, actor.user, id.rawValue])
                // A receipt in incoming/ names the file as stored; its object gone, so is it.
                try db.run(sql: "DELETE FROM receipts WHERE object_id = ?", arguments: [id.rawValue])
                try recordChange(db, id, at: time)
                try audit(db, "object.trash", id, ["name": .string(object.name), "size": .number(Double(object.size))], at: time)
                object.trash = TrashEntry(trashedAt: time, trashedBy: actor.user)
                trashed.append(object)
            }
            return trashed
        }
    }

    /// Refuses to trash an object something still uses: a case (and through it a dataset), or a
    /// manifest that is not itself leaving.
    private func refuseIfUsed(_ db: any SQLDatabase, _ id: LakeID, leaving: Set<String>) throws {
        if let row = try db.fetchOne(sql: """
            SELECT c.id, c.name,
                   (SELECT d.id FROM dataset_cases dc JOIN datasets d ON d.id = dc.dataset_id
                    WHERE dc.case_id = c.id ORDER BY d.frozen_at IS NULL LIMIT 1) AS dataset,
                   (SELECT d.frozen_at IS NOT NULL FROM dataset_cases dc JOIN datasets d ON d.id = dc.dataset_id
                    WHERE dc.case_id = c.id ORDER BY d.frozen_at IS NULL LIMIT 1) AS frozen
            FROM case_members m JOIN cases c ON c.id = m.case_id WHERE m.object_id = ? ORDER BY c.seq LIMIT 1
            """, arguments: [id.rawValue]) {
            let caseID: String = row["id"], name: String = row["name"]
            var message = "object \(id) is a member of case \(caseID) (\"\(name)\")"
            if let dataset: String = row["dataset"] {
                let frozen: Bool = row["frozen"] ?? false
                message += frozen
                    ? ", which frozen dataset \(dataset) holds: a frozen dataset keeps its objects for as long as it exists "
                        + "(lake dataset rm --force \(dataset), then lake case rm \(caseID))"
                    : ", which dataset \(dataset) holds; remove the case first: lake dataset remove \(dataset) \(caseID), then lake case rm \(caseID)"
            } else {
                message += "; remove the case first: lake case rm \(caseID)"
            }
            throw CatalogError.refused(message)
        }
        for row in try db.fetchAll(sql: """
            SELECT r.object_id, r.path FROM object_refs r JOIN objects m ON m.id = r.object_id
            WHERE r.child_id = ? AND m.trashed_at IS NULL ORDER BY m.seq
            """, arguments: [id.rawValue]) {
            let manifest: String = row["object_id"]
            guard !leaving.contains(manifest) else { continue }
            let path: String = row["path"]
            throw CatalogError.refused("object \(id) is block '\(path)' of manifest \(manifest); remove them together: lake object rm \(manifest) \(id)")
        }
    }

    public func restoreObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] {
        let ids = Self.unique(ids)
        let returning = Set(ids.map(\.rawValue))
        return try write { db in
            var restored: [LakeObject] = []
            for id in ids {
                guard var object = try ObjectRow.fetch(db, id: id.rawValue, blobURI: blobURI) else {
                    throw CatalogError.refused("object \(id) is neither in the lake nor in its trash (purged objects cannot come back)")
                }
                guard object.trash != nil else { throw CatalogError.refused("object \(id) is not in the trash") }
                // A manifest comes back only with its blocks: the mount and processing read them.
                if let row = try db.fetchOne(sql: """
                    SELECT r.child_id, r.path FROM object_refs r JOIN objects c ON c.id = r.child_id
                    WHERE r.object_id = ? AND c.trashed_at IS NOT NULL ORDER BY r.position
                    """, arguments: [id.rawValue]), !returning.contains(row["child_id"] as String) {
                    let child: String = row["child_id"], path: String = row["path"]
                    throw CatalogError.refused("manifest \(id) needs its block '\(path)' (\(child)), also in the trash; restore them together: lake trash restore \(id) \(child)")
                }
                try db.run(sql: "UPDATE objects SET trashed_at = NULL, trashed_by = NULL WHERE id = ?", arguments: [id.rawValue])
                try recordChange(db, id, at: time)
                try audit(db, "object.restore", id, ["name": .string(object.name)], at: time)
                object.trash = nil
                restored.append(object)
            }
            return restored
        }
    }

    public func trashedObjects() throws -> [LakeObject] {
        try read { db in try fetchObjects(db, where: "trashed_at IS NOT NULL ORDER BY trashed_at, seq", []) }
    }

    public func purgeObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] {
        let ids = Self.unique(ids)
        let leaving = Set(ids.map(\.rawValue))
        return try write { db in
            var purged: [LakeObject] = []
            for id in ids {
                guard let object = try ObjectRow.fetch(db, id: id.rawValue, blobURI: blobURI) else { throw CatalogError.notFound(id) }
                guard object.trash != nil else {
                    throw CatalogError.refused("object \(id) is not in the trash; only trashed objects are purged (lake object rm \(id) first)")
                }
                if let row = try db.fetchOne(sql: "SELECT object_id, path FROM object_refs WHERE child_id = ? ORDER BY object_id",
                                              arguments: [id.rawValue]), !leaving.contains(row["object_id"] as String) {
                    let manifest: String = row["object_id"], path: String = row["path"]
                    throw CatalogError.refused("object \(id) is block '\(path)' of manifest \(manifest), also in the trash; purge them together: lake trash purge \(manifest) \(id)")
                }
                purged.append(object)
            }
            // Manifests among them let go of their blocks first (a reference must name a row).
            for id in ids {
                try db.run(sql: "UPDATE object_refs SET child_id = NULL WHERE object_id = ?", arguments: [id.rawValue])
            }
            for object in purged {
                try db.run(sql: "DELETE FROM objects WHERE id = ?", arguments: [object.id.rawValue])
                try recordChange(db, object.id, at: time)
                try audit(db, "object.purge", object.id, ["name": .string(object.name), "size": .number(Double(object.size)),
                                                          "blob": object.file.blob.map { .string($0.id) } ?? .null], at: time)
            }
            return purged
        }
    }

    public func trashTotals() throws -> (count: Int64, bytes: Int64) {
        try read { db in
            let row = try db.fetchOne(sql: """
                SELECT COUNT(*) AS n, COALESCE(SUM(b.size), 0) AS bytes
                FROM objects o LEFT JOIN blobs b ON b.id = o.blob_id WHERE o.trashed_at IS NOT NULL
                """)
            return (row?["n"] ?? 0, row?["bytes"] ?? 0)
        }
    }

    static func unique(_ ids: [LakeID]) -> [LakeID] {
        var seen = Set<LakeID>()
        return ids.filter { seen.insert($0).inserted }
    }
}
