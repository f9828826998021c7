import Foundation
import GRDB
import LakeModel

extension SQLiteCatalog {
    public func receipts() throws -> [Receipt] {
        try read { db in try db.fetchAll(sql: "SELECT * FROM receipts ORDER BY node").map(Self.receipt) }
    }

    static func receipt(_ row: SQLRow) -> Receipt {
        let object: String? = row["object_id"]
        let name: Data = row["name"]
        return Receipt(node: row["node"], parent: row["parent"], name: Array(name), isFolder: row["is_folder"],
                       objectID: object.map(LakeID.init(unchecked:)), blobID: row["blob_id"], size: row["size"],
                       mode: UInt32(truncatingIfNeeded: row["mode"] as Int64), uid: UInt32(truncatingIfNeeded: row["uid"] as Int64),
                       gid: UInt32(truncatingIfNeeded: row["gid"] as Int64), modified: row["modified_at"], accessed: row["accessed_at"])
    }

    public func insertReceipt(_ receipt: Receipt, replacing: Int64?) throws -> Int64 {
        try writeLight { db in try insertReceipt(db, receipt, replacing: replacing) }
    }

    /// Several mounts of one store each keep their own view of incoming/: an entry another mount
    /// made under the same name is replaced (the last writer's receipt wins), except that a
    /// folder made twice is one folder.
    func insertReceipt(_ db: any SQLDatabase, _ receipt: Receipt, replacing: Int64?) throws -> Int64 {
        if let replacing { try db.run(sql: "DELETE FROM receipts WHERE node = ?", arguments: [replacing]) }
        if let existing = try db.fetchOne(sql: "SELECT node, is_folder FROM receipts WHERE parent = ? AND name = ?",
                                           arguments: [receipt.parent, Data(receipt.name)]) {
            if receipt.isFolder && (existing["is_folder"] as Bool) { return existing["node"] }
            try db.run(sql: "DELETE FROM receipts WHERE node = ?", arguments: [existing["node"] as Int64])
        }
        let node = try db.value(Int64.self, sql: """
            INSERT INTO receipts (parent, name, is_folder, object_id, blob_id, size, mode, uid, gid, modified_at, accessed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING node
            """, arguments: [receipt.parent, Data(receipt.name), receipt.isFolder, receipt.objectID?.rawValue, receipt.blobID,
                             receipt.size, Int64(receipt.mode), Int64(receipt.uid), Int64(receipt.gid), receipt.modified,
                             receipt.accessed])
        guard let node else { throw CatalogError.database("an inserted receipt gave no node") }
        return node
    }

    public func reserveReceiptNodes(_ count: Int) throws -> ClosedRange<Int64> {
        // A reservation lost in a power failure is harmless: a receipt using one of its numbers
        // is stored with a synced commit, which carries the reservation before it.
        try writeLight { db in
            if db.dialect == .postgres {
                // The identity's sequence moved past the block: nextval never hands its numbers out.
                let last = try db.fetchValue(Int64.self, sql: """
                    SELECT setval(pg_get_serial_sequence('receipts', 'node'),
                                  GREATEST(nextval(pg_get_serial_sequence('receipts', 'node')), COALESCE((SELECT MAX(node) FROM receipts), 0) + 1)
                                  + ? - 1)
                    """, arguments: [max(1, count)])!
                return (last - Int64(max(1, count)) + 1)...last
            }
            let recorded = try db.fetchValue(Int64.self, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'receipts'")
            let used = max(recorded ?? 0, try db.fetchValue(Int64.self, sql: "SELECT MAX(node) FROM receipts") ?? 0)
            let last = used + Int64(max(1, count))
            if recorded == nil {
                try db.run(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('receipts', ?)", arguments: [last])
            } else {
                try db.run(sql: "UPDATE sqlite_sequence SET seq = ? WHERE name = 'receipts'", arguments: [last])
            }
            return (used + 1)...last
        }
    }

    /// A stored upload's receipt: its row is inserted or brought up to date, and an entry of
    /// another mount (or an older version) under the same name goes.
    func storeReceipt(_ db: any SQLDatabase, _ receipt: Receipt) throws {
        try db.run(sql: "DELETE FROM receipts WHERE parent = ? AND name = ? AND node <> ?",
                       arguments: [receipt.parent, Data(receipt.name), receipt.node])
        try db.run(sql: """
            INSERT INTO receipts (node, parent, name, is_folder, object_id, blob_id, size, mode, uid, gid, modified_at, accessed_at)
            VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (node) DO UPDATE SET parent = excluded.parent, name = excluded.name, object_id = excluded.object_id,
                blob_id = excluded.blob_id, size = excluded.size, mode = excluded.mode, uid = excluded.uid, gid = excluded.gid,
                modified_at = excluded.modified_at, accessed_at = excluded.accessed_at
            """, arguments: [receipt.node, receipt.parent, Data(receipt.name), receipt.objectID?.rawValue, receipt.blobID,
                             receipt.size, Int64(receipt.mode), Int64(receipt.uid), Int64(receipt.gid), receipt.modified,
                             receipt.accessed])
    }

    // MARK: unsettled blobs and checkpoints

    /// (SQLite's log only: PostgreSQL keeps its own.)
    public func deferCheckpoints() throws {
        guard case .sqlite(let pool) = engine else { return }
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
    }

    public func checkpoint(truncating: Bool) throws {
        guard case .sqlite(let pool) = engine else { return }
        try pool.writeWithoutTransaction { db in _ = try db.checkpoint(truncating ? .truncate : .passive) }
    }

    public func unsettledBlobs() throws -> [UnsettledBlob] {
        try read { db in
            try db.fetchAll(sql: "SELECT seq, blob_id, bytes FROM unsettled_blobs ORDER BY seq").map { row in
                let bytes: Data = row["bytes"]
                return UnsettledBlob(seq: row["seq"], id: row["blob_id"], bytes: Array(bytes))
            }
        }
    }

    public func lastUnsettledBlob() throws -> Int64 {
        try read { db in try db.fetchValue(Int64.self, sql: "SELECT MAX(seq) FROM unsettled_blobs") ?? 0 }
    }

    public func forgetUnsettledBlobs(through seq: Int64) throws {
        // Lost in a power failure, the rows are settled again at the next start: harmless.
        try writeLight { db in try db.run(sql: "DELETE FROM unsettled_blobs WHERE seq <= ?", arguments: [seq]) }
    }

    public func unsyncedBlobs() throws -> [UnsyncedBlob] {
        try read { db in
            try db.fetchAll(sql: """
                SELECT u.blob_id, u.object_id, b.size FROM unsynced_blobs u LEFT JOIN blobs b ON b.id = u.blob_id ORDER BY u.seq
                """).map { row in
                UnsyncedBlob(id: row["blob_id"], objectID: LakeID(unchecked: row["object_id"]), size: row["size"])
            }
        }
    }

    public func forgetUnsyncedBlobs(of objects: [LakeID]) throws {
        guard !objects.isEmpty else { return }
        // Light: rows a power failure brings back are checked again at the next start.
        try writeLight { db in
            for start in stride(from: 0, to: objects.count, by: 500) {
                let chunk = objects[start..<min(objects.count, start + 500)].map(\.rawValue)
                try db.execute(sql: "DELETE FROM unsynced_blobs WHERE object_id IN (\(sqlMarks(chunk.count)))",
                               arguments: SQLArguments(chunk))
            }
        }
    }

    public func discardUnsynced(object id: LakeID, blob: String, reason: String, at time: Timestamp) throws -> Bool {
        try write { db in
            try db.run(sql: "DELETE FROM unsynced_blobs WHERE object_id = ?", arguments: [id.rawValue])
            guard let object = try ObjectRow.fetch(db, id: id.rawValue, blobURI: blobURI), object.file.blob?.id == blob else { return false }
            // Manifests that found it as a block wait for it again (a reference must name a row).
            for manifest in try db.fetchValues(String.self, sql: "SELECT DISTINCT object_id FROM object_refs WHERE child_id = ?",
                                                arguments: [object.id.rawValue]) {
                try db.run(sql: "UPDATE object_refs SET child_id = NULL WHERE object_id = ? AND child_id = ?",
                           arguments: [manifest, object.id.rawValue])
                try recordChange(db, LakeID(unchecked: manifest), at: time)
            }
            try db.run(sql: "DELETE FROM objects WHERE id = ?", arguments: [object.id.rawValue])
            try db.execute(sql: "DELETE FROM blobs WHERE id = ? AND NOT EXISTS (SELECT 1 FROM objects WHERE blob_id = ?)",
                           arguments: [blob, blob])
            try recordChange(db, object.id, at: time)
            try audit(db, "object.discard", object.id, ["name": .string(object.name), "blob": .string(blob), "reason": .string(reason)],
                      by: Actor(uid: object.owner.uid, user: object.createdBy), at: time)
            return true
        }
    }

    public func updateReceipt(_ receipt: Receipt) throws {
        try writeLight { db in try updateReceipt(db, receipt) }
    }

    func updateReceipt(_ db: any SQLDatabase, _ receipt: Receipt) throws {
        try db.run(sql: """
            UPDATE receipts SET parent = ?, name = ?, object_id = ?, blob_id = ?, size = ?, mode = ?, uid = ?, gid = ?,
                                modified_at = ?, accessed_at = ?
            WHERE node = ?
            """, arguments: [receipt.parent, Data(receipt.name), receipt.objectID?.rawValue, receipt.blobID, receipt.size,
                             Int64(receipt.mode), Int64(receipt.uid), Int64(receipt.gid), receipt.modified, receipt.accessed,
                             receipt.node])
    }

    public func moveReceipt(_ node: Int64, to parent: Int64, name: [UInt8], replacing: Int64?) throws {
        try writeLight { db in
            if let replacing { try db.run(sql: "DELETE FROM receipts WHERE node = ?", arguments: [replacing]) }
            // An entry of another mount under the new name is replaced too.
            try db.run(sql: "DELETE FROM receipts WHERE parent = ? AND name = ? AND node <> ?", arguments: [parent, Data(name), node])
            try db.run(sql: "UPDATE receipts SET parent = ?, name = ? WHERE node = ?", arguments: [parent, Data(name), node])
        }
    }

    public func deleteReceipt(_ node: Int64) throws {
        try writeLight { db in try db.run(sql: "DELETE FROM receipts WHERE node = ?", arguments: [node]) }
    }
}
