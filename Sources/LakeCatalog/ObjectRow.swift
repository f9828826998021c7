import GRDB
import LakeModel

/// Reading objects from rows: one query for the objects, one each for their params and references.
enum ObjectRow {
    static let columns = """
        seq, id, name, description, file_name, blob_id, format, status, failure_reason, tags, provisions,
        annotations, warnings, geometry_units, created_at, uploaded_at, processed_at, created_by,
        owner_uid, owner_gid, mode, trashed_at, trashed_by, mesh,
        (SELECT size FROM blobs WHERE blobs.id = objects.blob_id) AS blob_size,
        (SELECT md5 FROM blobs WHERE blobs.id = objects.blob_id) AS blob_md5,
        (SELECT found_by FROM blob_damage WHERE blob_damage.blob_id = objects.blob_id) AS damage_found_by,
        (SELECT found_at FROM blob_damage WHERE blob_damage.blob_id = objects.blob_id) AS damage_found_at,
        (SELECT reason FROM blob_damage WHERE blob_damage.blob_id = objects.blob_id) AS damage_reason
        """

    static func fetch(_ db: any SQLDatabase, where clause: String, arguments: SQLArguments,
                      blobURI: (String) -> String) throws -> [LakeObject] {
        let (rows, params, refs) = try fetchRows(db, where: clause, arguments: arguments)
        return try objects(rows, params: params, refs: refs, blobURI: blobURI)
    }

    /// The same objects with their provisions left as their stored JSON (see `StoredObject`).
    static func fetchStored(_ db: any SQLDatabase, where clause: String, arguments: SQLArguments,
                            blobURI: (String) -> String) throws -> [StoredObject] {
        let (rows, params, refs) = try fetchRows(db, where: clause, arguments: arguments)
        let objects = try objects(rows, params: params, refs: refs, blobURI: blobURI, decodingProvisions: false)
        return zip(objects, rows).map { object, row in StoredObject(object: object, provisionsJSON: row["provisions"]) }
    }

    /// The objects' rows, and their params' and references' rows.
    private static func fetchRows(_ db: any SQLDatabase, where clause: String,
                                  arguments: SQLArguments) throws -> (rows: [SQLRow], params: [SQLRow], refs: [SQLRow]) {
        let rows = try db.fetchAll(sql: "SELECT \(columns) FROM objects WHERE \(clause)", arguments: arguments)
        if rows.isEmpty { return ([], [], []) }
        let ids: [String] = rows.map { $0["id"] }
        let placeholders = sqlMarks(ids.count)
        let params = try db.fetchAll(sql: "SELECT object_id, key, value, units FROM object_params WHERE object_id IN (\(placeholders))",
                                      arguments: SQLArguments(ids))
        let refs = try db.fetchAll(sql: "SELECT object_id, path, child_id FROM object_refs WHERE object_id IN (\(placeholders)) ORDER BY object_id, position",
                                    arguments: SQLArguments(ids))
        return (rows, params, refs)
    }

    static let byID = "SELECT \(columns) FROM objects WHERE id = ?"
    static let bySeq = "SELECT \(columns) FROM objects WHERE seq = ? AND trashed_at IS NULL"

    /// One object by id, with statements compiled once per connection: processing and the mount
    /// ask for single objects all the time, and compiling costs more than running the queries.
    static func fetch(_ db: any SQLDatabase, id: String, blobURI: (String) -> String) throws -> LakeObject? {
        guard let row = try db.row(sql: byID, arguments: [id]) else { return nil }
        return try withParamsAndRefs(db, row, blobURI: blobURI)
    }

    /// One object by its change sequence number (not trashed), statements compiled once per
    /// connection: the mount builds an object's view this way, once per folder a walk enters
    /// whose view is not cached (compiling three statements each time was most of it).
    static func fetch(_ db: any SQLDatabase, seq: Int64, blobURI: (String) -> String) throws -> LakeObject? {
        guard let row = try db.row(sql: bySeq, arguments: [seq]) else { return nil }
        return try withParamsAndRefs(db, row, blobURI: blobURI)
    }

    /// One object by id with its provisions left as their stored JSON (see `StoredObject`).
    static func fetchStored(_ db: any SQLDatabase, id: String, blobURI: (String) -> String) throws -> StoredObject? {
        guard let row = try db.row(sql: byID, arguments: [id]),
              let object = try withParamsAndRefs(db, row, blobURI: blobURI, decodingProvisions: false) else { return nil }
        return StoredObject(object: object, provisionsJSON: row["provisions"])
    }

    private static func withParamsAndRefs(_ db: any SQLDatabase, _ row: SQLRow, blobURI: (String) -> String,
                                          decodingProvisions: Bool = true) throws -> LakeObject? {
        let id: String = row["id"]
        let params = try db.rows(sql: "SELECT object_id, key, value, units FROM object_params WHERE object_id = ?",
                                      arguments: [id])
        let refs = try db.rows(sql: "SELECT object_id, path, child_id FROM object_refs WHERE object_id = ? ORDER BY position",
                                    arguments: [id])
        return try objects([row], params: params, refs: refs, blobURI: blobURI, decodingProvisions: decodingProvisions).first
    }

    static func trash(_ row: SQLRow) -> TrashEntry? {
        guard let at: Int64 = row["trashed_at"] else { return nil }
        return TrashEntry(trashedAt: Timestamp(microseconds: at), trashedBy: row["trashed_by"] ?? "")
    }

    static func objects(_ rows: [SQLRow], params paramRows: [SQLRow], refs refRows: [SQLRow], blobURI: (String) -> String,
                        decodingProvisions: Bool = true) throws -> [LakeObject] {
        var params: [String: [String: Param]] = [:]
        for row in paramRows {
            let value = try ParamValue(json: decode(JSONValue.self, row["value"]))
            params[row["object_id"], default: [:]][row["key"]] = Param(value: value, units: row["units"])
        }
        var refs: [String: [FileRef]] = [:]
        for row in refRows {
            let child: String? = row["child_id"]
            refs[row["object_id"], default: []].append(FileRef(path: row["path"], objectId: child.map(LakeID.init(unchecked:))))
        }
        return try rows.map { row in
            let id: String = row["id"]
            var blob: BlobInfo?
            if let blobID: String = row["blob_id"] {
                let md5: String? = row["blob_md5"]
                blob = BlobInfo(id: blobID, size: row["blob_size"], uri: blobURI(blobID),
                                contentHash: ContentHash(sha256: blobID, md5: md5), damage: damage(row))
            }
            return LakeObject(
                id: LakeID(unchecked: id), name: row["name"], description: row["description"],
                file: ObjectFile(name: row["file_name"], blob: blob),
                format: FileFormat(rawValue: row["format"]) ?? .unknown,
                status: ObjectStatus(rawValue: row["status"]) ?? .failed,
                failureReason: row["failure_reason"], params: params[id] ?? [:],
                tags: try decode([String: JSONValue].self, row["tags"]),
                provisions: decodingProvisions ? try decode([Provision].self, row["provisions"]) : [],
                contentReferences: refs[id] ?? [],
                annotations: try decode([FieldAnnotation].self, row["annotations"]),
                warnings: try decode([String].self, row["warnings"]),
                geometryUnits: row["geometry_units"],
                createdAt: Timestamp(microseconds: row["created_at"]),
                uploadedAt: (row["uploaded_at"] as Int64?).map(Timestamp.init(microseconds:)),
                processedAt: (row["processed_at"] as Int64?).map(Timestamp.init(microseconds:)),
                createdBy: row["created_by"], owner: ownership(row), trash: trash(row),
                mesh: try (row["mesh"] as String?).map { try decode(MeshSummary.self, $0) })
        }
    }

    static func ownership(_ row: SQLRow) -> Ownership {
        guard let uid: Int64 = row["owner_uid"], let gid: Int64 = row["owner_gid"], let mode: Int64 = row["mode"] else { return .legacy }
        return Ownership(uid: UInt32(truncatingIfNeeded: uid), gid: UInt32(truncatingIfNeeded: gid), mode: UInt32(truncatingIfNeeded: mode))
    }

    static func damage(_ row: SQLRow) -> BlobDamage? {
        guard let by: String = row["damage_found_by"], let at: Int64 = row["damage_found_at"], let reason: String = row["damage_reason"] else {
            return nil
        }
        return BlobDamage(foundBy: by, foundAt: Timestamp(microseconds: at), reason: reason)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        // Most objects' annotations and warnings, and many objects' tags, are empty: a decoder
        // made for each of those cost more than the row's query.
        if let empty = T.self as? any EmptyJSONCollection.Type, text == empty.emptyText, let value = empty.empty as? T { return value }
        if T.self == [Provision].self, let provisions = ProvisionJSON.fields(from: text) { return provisions as! T }
        do { return try LakeJSON.decode(type, from: text) } catch {
            throw CatalogError.database("unreadable JSON in the catalog: \(error)")
        }
    }

    /// The JSON of a column. Tags, word lists and empty lists (what every new object has) are
    /// written without the general encoder, which cost more than the rest of an upload's
    /// transaction.
    static func json<T: Encodable>(_ value: T) -> String {
        switch value {
        case let members as [String: JSONValue]: return JSONValue.object(members).compactText
        case let words as [String]: return JSONValue.array(words.map(JSONValue.string)).compactText
        case let provisions as [Provision]: return ProvisionJSON.compactArray(provisions)
        case let list as any Collection where list.isEmpty && Mirror(reflecting: list).displayStyle == .collection: return "[]"
        default: return LakeJSON.compactString(value)
        }
    }
}

/// Collections whose empty JSON text (`[]`, `{}`) `ObjectRow.decode` answers without a decoder.
protocol EmptyJSONCollection {
    static var emptyText: String { get }
    static var empty: Self { get }
}

extension Array: EmptyJSONCollection {
    static var emptyText: String { "[]" }
    static var empty: Self { [] }
}

extension Dictionary: EmptyJSONCollection {
    static var emptyText: String { "{}" }
    static var empty: Self { [:] }
}
