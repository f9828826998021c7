import GRDB
import LakeModel

/// Reading objects' outlines: the columns the mount shows and a manifest's references, none of
/// the JSON columns (decoding a processed object's provisions was most of reading it).
enum OutlineRow {
    static let columns = """
        seq, id, file_name, blob_id, format, status, owner_uid, owner_gid, mode, created_at, uploaded_at, processed_at,
        (SELECT size FROM blobs WHERE blobs.id = objects.blob_id) AS blob_size
        """
    static let bySeq = "SELECT \(columns) FROM objects WHERE seq = ? AND trashed_at IS NULL"
    static let refsOfOne = "SELECT path, child_id FROM object_refs WHERE object_id = ? ORDER BY position"

    /// One outline, statements compiled once per connection.
    static func fetch(_ db: any SQLDatabase, seq: Int64) throws -> ObjectOutline? {
        guard let row = try db.row(sql: bySeq, arguments: [seq]) else { return nil }
        let id: String = row[1]
        let refs = try db.rows(sql: refsOfOne, arguments: [id]).map { FileRef(path: $0[0], objectId: ($0[1] as String?).map(LakeID.init(unchecked:))) }
        return outline(row, references: refs)
    }

    /// Outlines by id in batches of 500, with their sequence numbers.
    static func fetch(_ db: any SQLDatabase, ids: [LakeID]) throws -> [(seq: Int64, outline: ObjectOutline)] {
        var result: [(seq: Int64, outline: ObjectOutline)] = []
        result.reserveCapacity(ids.count)
        for start in stride(from: 0, to: ids.count, by: 500) {
            let chunk = ids[start..<min(ids.count, start + 500)].map(\.rawValue)
            let marks = sqlMarks(chunk.count)
            let rows = try db.fetchAll(sql: "SELECT \(columns) FROM objects WHERE id IN (\(marks))", arguments: SQLArguments(chunk))
            var refs: [String: [FileRef]] = [:]
            let refRows = try db.fetchAll(sql: "SELECT object_id, path, child_id FROM object_refs WHERE object_id IN (\(marks)) ORDER BY object_id, position",
                                           arguments: SQLArguments(chunk))
            for row in refRows { refs[row[0], default: []].append(FileRef(path: row[1], objectId: (row[2] as String?).map(LakeID.init(unchecked:)))) }
            for row in rows {
                let id: String = row[1]
                result.append((row[0], outline(row, references: refs[id] ?? [])))
            }
        }
        return result
    }

    /// By column position (as `columns` lists them): GRDB matches a name case-insensitively,
    /// lowercasing it on every access, which showed in a walk's profile.
    static func outline(_ row: SQLRow, references: [FileRef]) -> ObjectOutline {
        let blobID: String? = row[3]
        let uid: Int64? = row[6], gid: Int64? = row[7], mode: Int64? = row[8]
        let owner = uid.flatMap { uid in gid.flatMap { gid in mode.map { mode in
            Ownership(uid: UInt32(truncatingIfNeeded: uid), gid: UInt32(truncatingIfNeeded: gid), mode: UInt32(truncatingIfNeeded: mode))
        } } } ?? .legacy
        return ObjectOutline(
            id: LakeID(unchecked: row[1]), fileName: row[2], blob: blobID.map { ($0, row[12] ?? 0) },
            format: FileFormat(rawValue: row[4]) ?? .unknown, status: ObjectStatus(rawValue: row[5]) ?? .failed,
            owner: owner, contentReferences: references, createdAt: Timestamp(microseconds: row[9]),
            uploadedAt: (row[10] as Int64?).map(Timestamp.init(microseconds:)),
            processedAt: (row[11] as Int64?).map(Timestamp.init(microseconds:)))
    }
}
