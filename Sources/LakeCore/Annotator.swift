import LakeCatalog
import LakeModel

/// Annotates the fields of a READY object after the fact. A field's annotation is set once:
/// the same annotation again is a no-op, a different one is refused. An annotation that
/// matches no field is kept as a warning, as at upload.
public struct Annotator: Sendable {
    public let store: Store
    public init(store: Store) { self.store = store }

    public func annotate(_ id: LakeID, with annotations: [FieldAnnotation]) throws -> LakeObject {
        try store.catalog.annotateObject(id, at: .now) { object in
            var fields = object.provisions.compactMap { if case .field(let f) = $0 { return f } else { return nil } }
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
}
