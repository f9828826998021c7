import LakeModel

/// `lake object reprocess`: a FAILED object goes back to the processing queue. A failure can be
/// the machine's rather than the file's (too few descriptors, a time limit set too low, a bucket
/// away while its blob was opened); the stored bytes are unchanged, so processing them again is
/// all it takes. A manifest's FAILED blocks go with it (a manifest fails when a block did, and
/// would only fail again over them). The cases each made INVALID become UNSETTLED again and
/// settle when it finishes.
extension SQLiteCatalog {
    public func reprocessObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] {
        let named = Self.unique(ids)
        return try write { db in
            var queued: [LakeObject] = []
            let ids = Self.unique(try named.flatMap { id in try Self.failedBlocks(db, under: id) + [id] })
            for id in ids {
                guard var object = try ObjectRow.fetch(db, id: id.rawValue, blobURI: blobURI) else { throw CatalogError.notFound(id) }
                try Self.refuseTrashed(object)
                guard object.status == .failed else {
                    throw CatalogError.refused("object \(id) is \(object.status.rawValue); only a FAILED object is processed again"
                        + (object.status == .ready ? " (a READY object's statistics never change: cases and frozen datasets rely on them)" : ""))
                }
                guard object.file.blob != nil else {
                    throw CatalogError.refused("object \(id) has no stored bytes to process; upload the file again")
                }
                let reason = object.failureReason
                // Attempts start again: the limit on interrupted attempts is per processing.
                try db.run(sql: """
                    UPDATE objects SET status = 'UPLOADED', failure_reason = NULL, processed_at = NULL, attempts = 0,
                        lease_owner = NULL, lease_expires_at = NULL, provisions = '[]', mesh = NULL
                    WHERE id = ?
                    """, arguments: [id.rawValue])
                try FilterIndex.refresh(db, objectID: id.rawValue)
                try recordChange(db, id, at: time)
                // A case with a FAILED member is INVALID for that reason first (`CaseRules.settle`):
                // it waits again, and settles when this object (and any other) has finished.
                let cases = try db.values(String.self, sql: """
                    UPDATE cases SET status = 'UNSETTLED', failure_reason = NULL, provisions = '[]', formats = '[]', mesh = NULL
                    WHERE status = 'INVALID' AND id IN (SELECT case_id FROM case_members WHERE object_id = ?)
                    RETURNING id
                    """, arguments: [id.rawValue])
                for caseID in cases { try recordChange(db, LakeID(unchecked: caseID), at: time) }
                try audit(db, "object.reprocess", id, ["failure_reason": reason.map(JSONValue.string) ?? .null,
                                                       "cases": .array(cases.map(JSONValue.string))], at: time)
                object.status = .uploaded
                object.failureReason = nil
                object.processedAt = nil
                object.provisions = []
                object.mesh = nil
                queued.append(object)
            }
            return queued
        }
    }

    /// The FAILED blocks of a manifest, and theirs (manifests nest at most 8 deep), deepest first.
    static func failedBlocks(_ db: any SQLDatabase, under id: LakeID, depth: Int = 0) throws -> [LakeID] {
        guard depth < 8 else { return [] }
        let children = try db.values(String.self, sql: """
            SELECT o.id FROM object_refs r JOIN objects o ON o.id = r.child_id
            WHERE r.object_id = ? AND o.status = 'FAILED' AND o.trashed_at IS NULL ORDER BY r.position
            """, arguments: [id.rawValue]).map(LakeID.init(unchecked:))
        return try children.flatMap { child in try failedBlocks(db, under: child, depth: depth + 1) + [child] }
    }
}
