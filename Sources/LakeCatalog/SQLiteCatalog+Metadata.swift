import GRDB
import LakeModel

/// Metadata given to an object after it was stored (a sidecar or `setfattr` on a receipt in
/// incoming/), with `lake upload`'s set-once rules, in one transaction.
extension SQLiteCatalog {
    public func applyMetadata(_ id: LakeID, _ metadata: ObjectMetadata, at time: Timestamp,
                              annotating: (LakeObject, [FieldAnnotation]) throws -> (annotations: [FieldAnnotation], provisions: [Provision], warnings: [String])) throws -> LakeObject {
        try write { db in
            guard var object = try ObjectRow.fetch(db, id: id.rawValue, blobURI: blobURI) else { throw CatalogError.notFound(id) }
            try Self.refuseTrashed(object)
            var details: [String: JSONValue] = [:]

            var added: [String: Param] = [:]
            for (key, param) in metadata.params.sorted(by: { $0.key < $1.key }) {
                if let existing = object.params[key] {
                    guard existing == param else {
                        throw CatalogError.refused("object \(id) already has param '\(key)' = \(existing.value.json.compactText)"
                                                   + "\(existing.units.map { "@\($0)" } ?? ""); params are set once")
                    }
                    continue
                }
                added[key] = param
            }
            if !added.isEmpty, let caseID = try db.fetchValue(String.self, sql: "SELECT case_id FROM case_members WHERE object_id = ? LIMIT 1",
                                                                 arguments: [id.rawValue]) {
                throw CatalogError.refused("object \(id) is a member of case \(caseID), whose params were united when it was made; "
                                           + "params cannot be added to it any more")
            }
            for (key, param) in added.sorted(by: { $0.key < $1.key }) {
                try insertParam(db, id, key, param)
                object.params[key] = param
            }
            if !added.isEmpty { details["params"] = .object(added.mapValues { $0.value.json }) }

            if let tags = metadata.tags {
                object.tags = tags
                details["tags"] = .object(tags)
            }

            var requeue = false
            if let units = metadata.geometryUnits, object.geometryUnits != units {
                try Self.setGeometryUnits(&object, units)
                details["geometry_units"] = .string(units)
                // Processing would finish with the warning it began with.
                requeue = object.status == .processing
            }

            var fresh: [FieldAnnotation] = []
            for annotation in metadata.annotations {
                if let existing = object.annotations.first(where: { $0.label == annotation.label && $0.elementAssoc == annotation.elementAssoc }) {
                    guard existing == annotation else {
                        throw CatalogError.refused("field \(annotation.label):\(annotation.elementAssoc.rawValue) of \(id) is already annotated "
                                                   + "as \(existing.quantityType)\(existing.units.map { " [\($0)]" } ?? ""); annotations are set once")
                    }
                    continue
                }
                fresh.append(annotation)
            }
            if !fresh.isEmpty {
                if object.status == .ready {
                    (object.annotations, object.provisions, object.warnings) = try annotating(object, fresh)
                } else {
                    // Applied when it is processed; one being processed now starts again with them.
                    object.annotations += fresh
                    requeue = requeue || object.status == .processing
                }
                details["annotations"] = .array(fresh.map { .string("\($0.label):\($0.elementAssoc.rawValue)=\($0.quantityType)" + ($0.units.map { "@\($0)" } ?? "")) })
            }
            guard !details.isEmpty else { return object }

            try db.run(sql: """
                UPDATE objects SET tags = ?, geometry_units = ?, provisions = ?, warnings = ?, annotations = ? WHERE id = ?
                """, arguments: [ObjectRow.json(object.tags), object.geometryUnits, ObjectRow.json(object.provisions),
                                 ObjectRow.json(object.warnings), ObjectRow.json(object.annotations), id.rawValue])
            if requeue {
                // The worker's finish then finds its lease gone and keeps nothing it computed.
                try db.run(sql: "UPDATE objects SET status = 'UPLOADED', lease_owner = NULL, lease_expires_at = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = ?",
                           arguments: [id.rawValue])
                object.status = .uploaded
            }
            try FilterIndex.refresh(db, objectID: id.rawValue)
            try recordChange(db, id, at: time)
            try audit(db, "object.metadata", id, details, at: time)
            return object
        }
    }
}
