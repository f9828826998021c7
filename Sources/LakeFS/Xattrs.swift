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
            "user.lake.provisions": provisions(object.provisions, whole: "object.json"),
            "user.lake.params": Array(LakeJSON.compactString(object.params).utf8),
            "user.lake.tags": Array(LakeJSON.compactString(object.tags).utf8),
        ]
        if let reason = object.failureReason { values["user.lake.failure_reason"] = Array(reason.utf8) }
        if let damage = object.file.blob?.damage { values["user.lake.damage"] = Array(damage.reason.utf8) }
        if let awaited = awaitedBlocks(object) { values["user.lake.awaiting_blocks"] = awaited }
        if let mesh = object.mesh { values["user.lake.mesh"] = Array(LakeJSON.compactString(mesh).utf8) }
        return values
    }

    /// The blocks a manifest still waits for (references without an object while it is not yet
    /// processed), as a JSON array of its relative paths: what `getfattr` shows instead of
    /// silence while a `cp` of the blocks is still to come.
    static func awaitedBlocks(_ object: LakeObject) -> [UInt8]? {
        guard object.status == .uploaded || object.status == .processing else { return nil }
        let awaited = object.contentReferences.filter { $0.objectId == nil }.map { JSONValue.string($0.path) }
        return awaited.isEmpty ? nil : Array(JSONValue.array(awaited).compactText.utf8)
    }

    static func of(_ item: LakeCase) -> [String: [UInt8]] {
        var values = group(id: item.id, kind: "case", status: item.status.rawValue, formats: item.formats, provisions: item.provisions,
                           params: LakeJSON.compactString(item.params), tags: item.tags, failureReason: item.failureReason, whole: "case.json")
        if let mesh = item.mesh { values["user.lake.mesh"] = Array(LakeJSON.compactString(mesh).utf8) }
        return values
    }

    /// A dataset's `params` attribute is its params_schema.
    static func of(_ item: LakeDataset) -> [String: [UInt8]] {
        group(id: item.id, kind: "dataset", status: item.status.rawValue, formats: item.formats, provisions: item.provisions,
              params: LakeJSON.compactString(item.paramsSchema), tags: item.tags, failureReason: item.failureReason, whole: "dataset.json")
    }

    /// The attributes of a case or dataset: like an object's, with its formats comma-separated.
    static func group(id: LakeID, kind: String, status: String, formats: [String], provisions items: [Provision], params: String,
                      tags: [String: JSONValue], failureReason: String?, whole: String) -> [String: [UInt8]] {
        var values: [String: [UInt8]] = [
            "user.lake.id": Array(id.rawValue.utf8),
            "user.lake.kind": Array(kind.utf8),
            "user.lake.status": Array(status.utf8),
            "user.lake.format": Array(formats.joined(separator: ",").utf8),
            "user.lake.provisions": provisions(items, whole: whole),
            "user.lake.params": Array(params.utf8),
            "user.lake.tags": Array(LakeJSON.compactString(tags).utf8),
        ]
        if let failureReason { values["user.lake.failure_reason"] = Array(failureReason.utf8) }
        return values
    }

    /// What a receipt in incoming/ carries.
    static func receipt(_ object: LakeObject) -> [String: [UInt8]] {
        var values = ["user.lake.id": Array(object.id.rawValue.utf8), "user.lake.status": Array(object.status.rawValue.utf8),
                      "user.lake.params": Array(LakeJSON.compactString(object.params).utf8),
                      "user.lake.tags": Array(LakeJSON.compactString(object.tags).utf8)]
        if let units = object.geometryUnits { values["user.lake.geometry_units"] = Array(units.utf8) }
        if let awaited = awaitedBlocks(object) { values["user.lake.awaiting_blocks"] = awaited }
        if let reason = object.failureReason { values["user.lake.failure_reason"] = Array(reason.utf8) }
        if let damage = object.file.blob?.damage { values["user.lake.damage"] = Array(damage.reason.utf8) }
        return values
    }

    /// Compact provisions. When they would not fit in an xattr, component statistics are dropped,
    /// then trailing fields, and a last element says so — never silently:
    /// `{"omitted": {"fields": N, "of": M, "component_stats": true, "whole": "object.json"}}`
    /// (`whole` is the file beside it that has every provision).
    static func provisions(_ provisions: [Provision], whole: String) -> [UInt8] {
        let compact = Array(ProvisionJSON.compactArray(provisions.map(\.withoutHistograms)).utf8)
        if compact.count <= limit { return compact }
        // Each summary written once; as many leading ones as fit beside the note are kept.
        let summaries = provisions.map(\.summary)
        let pieces = summaries.map { Array(ProvisionJSON.compactArray([$0]).utf8.dropFirst().dropLast()) }
        let isField = provisions.map { if case .field = $0 { true } else { false } }
        let fields = isField.filter { $0 }.count
        func note(dropping dropped: Int) -> [UInt8] {
            Array(JSONValue.object(["omitted": .object([
                "fields": .number(Double(dropped)), "of": .number(Double(fields)),
                "component_stats": .bool(true), "whole": .string(whole),
            ])]).compactText.utf8)
        }
        var size = 0, keptFields = 0, kept = 0
        while kept < pieces.count {
            // "[" + pieces joined by "," + "," + note + "]"
            let grown = size + pieces[kept].count + 1
            let grownFields = keptFields + (isField[kept] ? 1 : 0)
            guard 1 + grown + note(dropping: fields - grownFields).count + 1 <= limit else { break }
            (size, keptFields, kept) = (grown, grownFields, kept + 1)
        }
        var text: [UInt8] = [UInt8(ascii: "[")]
        for piece in pieces[..<kept] { text += piece + [UInt8(ascii: ",")] }
        return text + note(dropping: fields - keptFields) + [UInt8(ascii: "]")]
    }

    /// Names in the order `listxattr` reports them.
    static func names(_ values: [String: [UInt8]]) -> [String] { values.keys.sorted() }
}
