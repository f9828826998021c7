import LakeCatalog
import LakeModel

/// Annotates the fields of a READY object after the fact. A field's annotation is set once:
/// the same annotation again is a no-op, a different one is refused. An annotation that
/// matches no field is refused (a typo would otherwise leave a permanent warning and exit 0),
/// unless `allowUnmatched`, which keeps it as a warning, as at upload.
public struct Annotator: Sendable {
    public let store: Store
    public init(store: Store) { self.store = store }

    public func annotate(_ id: LakeID, with annotations: [FieldAnnotation], allowUnmatched: Bool = false) throws -> LakeObject {
        try store.catalog.annotateObject(id, at: .now) { object in
            try Self.change(object, annotations, allowUnmatched: allowUnmatched)
        }
    }

    /// A READY object's annotations, fields and warnings with `annotations` applied.
    public static func change(_ object: LakeObject, _ annotations: [FieldAnnotation], allowUnmatched: Bool) throws
        -> (annotations: [FieldAnnotation], provisions: [Provision], warnings: [String]) {
        let id = object.id
        var fields = object.provisions.compactMap { if case .field(let f) = $0 { return f } else { return nil } }
        let unmatched = annotations.filter { annotation in
            !fields.contains { $0.label == annotation.label && $0.elementAssoc == annotation.elementAssoc }
        }
        if !unmatched.isEmpty && !allowUnmatched {
            let names = unmatched.map { "\($0.label):\($0.elementAssoc.rawValue)" }.joined(separator: ", ")
            let have = fields.map { "\($0.label):\($0.elementAssoc.rawValue)" }
            let hint = unmatched.count == 1 ? Suggestions.phrase(for: names, among: have) : ""
            throw CatalogError.refused("\(names) matches no field of \(id)\(hint) (its fields: "
                + (have.isEmpty ? "none" : have.joined(separator: ", ")) + "); nothing was changed (--allow-unmatched records it anyway, as a warning)")
        }
        for annotation in annotations {
            guard let field = fields.first(where: { $0.label == annotation.label && $0.elementAssoc == annotation.elementAssoc }),
                  let existing = field.quantityType else { continue }
            if existing != annotation.quantityType || field.units != annotation.units {
                throw CatalogError.refused("field \(annotation.label):\(annotation.elementAssoc.rawValue) of \(id) is already annotated "
                    + "as \(existing)\(field.units.map { " [\($0)]" } ?? ""); annotations are set once")
            }
        }
        let fresh = annotations.filter { new in
            !object.annotations.contains { $0.label == new.label && $0.elementAssoc == new.elementAssoc }
        }
        let applied = Annotations.apply(fresh, to: fields)
        fields = applied.provisions.compactMap { if case .field(let f) = $0 { return f } else { return nil } }
        let others = object.provisions.filter { if case .field = $0 { return false } else { return true } }
        return (object.annotations + fresh, others + fields.map(Provision.field), object.warnings + applied.warnings)
    }
}
