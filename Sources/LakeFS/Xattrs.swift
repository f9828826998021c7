import LakeModel

/// The `user.lake.*` attributes of an entity, computed once when its view is built. Identifiers
/// and words are plain text (`getfattr --only-values` gives a usable id); structured values are
/// compact JSON without histograms, kept under the kernel's 64 KiB xattr limit.
enum Xattrs {
    static let limit = 60 * 1024

    static func of(_ object: LakeObject) -> [String: [UInt8]] {
        var values: [String: [UInt8]] = [
            "user.lake.id": Array(object.id.rawValue.utf8),
            "user.lake.kind": Array("object".utf8),
            "user.lake.status": Array(object.status.rawValue.utf8),
            "user.lake.format": Array(object.format.rawValue.utf8),
            "user.lake.provisions": provisions(object.provisions),
            "user.lake.params": Array(LakeJSON.compactString(object.params).utf8),
            "user.lake.tags": Array(LakeJSON.compactString(object.tags).utf8),
        ]
        if let reason = object.failureReason { values["user.lake.failure_reason"] = Array(reason.utf8) }
        if let damage = object.file.blob?.damage { values["user.lake.damage"] = Array(damage.reason.utf8) }
        return values
    }

    static func of(_ item: LakeCase) -> [String: [UInt8]] {
        group(id: item.id, kind: "case", status: item.status.rawValue, formats: item.formats, provisions: item.provisions,
              params: LakeJSON.compactString(item.params), tags: item.tags, failureReason: item.failureReason)
    }

    /// A dataset's `params` attribute is its params_schema.
    static func of(_ item: LakeDataset) -> [String: [UInt8]] {
        group(id: item.id, kind: "dataset", status: item.status.rawValue, formats: item.formats, provisions: item.provisions,
              params: LakeJSON.compactString(item.paramsSchema), tags: item.tags, failureReason: item.failureReason)
    }

    /// The attributes of a case or dataset: like an object's, with its formats comma-separated.
    static func group(id: LakeID, kind: String, status: String, formats: [String], provisions items: [Provision], params: String,
                      tags: [String: JSONValue], failureReason: String?) -> [String: [UInt8]] {
        var values: [String: [UInt8]] = [
            "user.lake.id": Array(id.rawValue.utf8),
            "user.lake.kind": Array(kind.utf8),
            "user.lake.status": Array(status.utf8),
            "user.lake.format": Array(formats.joined(separator: ",").utf8),
            "user.lake.provisions": provisions(items),
            "user.lake.params": Array(params.utf8),
            "user.lake.tags": Array(LakeJSON.compactString(tags).utf8),
        ]
        if let failureReason { values["user.lake.failure_reason"] = Array(failureReason.utf8) }
        return values
    }

    /// What a receipt in incoming/ carries.
    static func receipt(_ object: LakeObject) -> [String: [UInt8]] {
        var values = ["user.lake.id": Array(object.id.rawValue.utf8), "user.lake.status": Array(object.status.rawValue.utf8)]
        if let reason = object.failureReason { values["user.lake.failure_reason"] = Array(reason.utf8) }
        if let damage = object.file.blob?.damage { values["user.lake.damage"] = Array(damage.reason.utf8) }
        return values
    }

    /// Compact provisions; component statistics are dropped, then trailing fields, if the
    /// result would not fit in an xattr.
    static func provisions(_ provisions: [Provision]) -> [UInt8] {
        let compact = Array(LakeJSON.compactString(provisions.map(\.withoutHistograms)).utf8)
        if compact.count <= limit { return compact }
        var summaries = provisions.map(\.summary)
        while !summaries.isEmpty {
            let text = Array(LakeJSON.compactString(summaries).utf8)
            if text.count <= limit { return text }
            summaries.removeLast(max(1, summaries.count / 8))
        }
        return Array("[]".utf8)
    }

    /// Names in the order `listxattr` reports them.
    static func names(_ values: [String: [UInt8]]) -> [String] { values.keys.sorted() }
}
