import Foundation
import GRDB
import LakeModel

extension SQLiteCatalog {
    public func receipts() throws -> [Receipt] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM receipts ORDER BY node").map(Self.receipt) }
    }

    static func receipt(_ row: Row) -> Receipt {
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
    func insertReceipt(_ db: Database, _ receipt: Receipt, replacing: Int64?) throws -> Int64 {
        if let replacing { try db.execute(sql: "DELETE FROM receipts WHERE node = ?", arguments: [replacing]) }
        if let existing = try Row.fetchOne(db, sql: "SELECT node, is_folder FROM receipts WHERE parent = ? AND name = ?",
                                           arguments: [receipt.parent, Data(receipt.name)]) {
            if receipt.isFolder && (existing["is_folder"] as Bool) { return existing["node"] }
            try db.execute(sql: "DELETE FROM receipts WHERE node = ?", arguments: [existing["node"] as Int64])
        }
        try db.execute(sql: """
            INSERT INTO receipts (parent, name, is_folder, object_id, blob_id, size, mode, uid, gid, modified_at, accessed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [receipt.parent, Data(receipt.name), receipt.isFolder, receipt.objectID?.rawValue, receipt.blobID,
                             receipt.size, Int64(receipt.mode), Int64(receipt.uid), Int64(receipt.gid), receipt.modified,
                             receipt.accessed])
        return db.lastInsertedRowID
    }

    public func createPendingObject(_ object: LakeObject, receipt: Receipt, replacing: Int64?) throws -> Int64 {
        try writeLight { db in
            try insertPendingObject(db, object)
            var linked = receipt
            linked.objectID = object.id
            return try insertReceipt(db, linked, replacing: replacing)
        }
    }

    public func updateReceipt(_ receipt: Receipt) throws {
        try writeLight { db in try updateReceipt(db, receipt) }
    }

    func updateReceipt(_ db: Database, _ receipt: Receipt) throws {
        try db.execute(sql: """
            UPDATE receipts SET parent = ?, name = ?, object_id = ?, blob_id = ?, size = ?, mode = ?, uid = ?, gid = ?,
                                modified_at = ?, accessed_at = ?
            WHERE node = ?
            """, arguments: [receipt.parent, Data(receipt.name), receipt.objectID?.rawValue, receipt.blobID, receipt.size,
                             Int64(receipt.mode), Int64(receipt.uid), Int64(receipt.gid), receipt.modified, receipt.accessed,
                             receipt.node])
    }

    public func moveReceipt(_ node: Int64, to parent: Int64, name: [UInt8], replacing: Int64?) throws {
        try writeLight { db in
            if let replacing { try db.execute(sql: "DELETE FROM receipts WHERE node = ?", arguments: [replacing]) }
            // An entry of another mount under the new name is replaced too.
            try db.execute(sql: "DELETE FROM receipts WHERE parent = ? AND name = ? AND node <> ?", arguments: [parent, Data(name), node])
            try db.execute(sql: "UPDATE receipts SET parent = ?, name = ? WHERE node = ?", arguments: [parent, Data(name), node])
        }
    }

    public func deleteReceipt(_ node: Int64) throws {
        try writeLight { db in try db.execute(sql: "DELETE FROM receipts WHERE node = ?", arguments: [node]) }
    }
}
