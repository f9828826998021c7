import LakeModel

/// Matches annotations to derived fields by `(label, element_assoc)`. An annotation that matches
/// nothing is kept as a warning; units other than the quantity's canonical unit are accepted
/// with a warning.
enum Annotations {
    static func apply(_ annotations: [FieldAnnotation], to fields: [Field]) -> ProcessingResult {
        var fields = fields
        var warnings: [String] = []
        for annotation in annotations {
            guard let index = fields.firstIndex(where: { $0.label == annotation.label && $0.elementAssoc == annotation.elementAssoc }) else {
                let labels = fields.map { "\($0.label):\($0.elementAssoc.rawValue)" }.joined(separator: ", ")
                warnings.append("annotation \(annotation.label):\(annotation.elementAssoc.rawValue)=\(annotation.quantityType) matches no field"
                    + (labels.isEmpty ? " (the object has no fields)" : " (fields: \(labels))"))
                continue
            }
            fields[index].quantityType = annotation.quantityType
            fields[index].units = annotation.units
            if let quantity = try? QuantityType.named(annotation.quantityType) {
                let canonical = quantity.canonicalUnit
                if let units = annotation.units, units != canonical {
                    warnings.append("annotation \(annotation.label):\(annotation.elementAssoc.rawValue) uses units '\(units)', "
                        + "not \(annotation.quantityType)'s canonical '\(canonical.isEmpty ? "(dimensionless)" : canonical)'")
                }
                if quantity.components != fields[index].numComponents {
                    warnings.append("annotation \(annotation.label):\(annotation.elementAssoc.rawValue) says \(annotation.quantityType), "
                        + "which has \(quantity.components) component(s), but the field has \(fields[index].numComponents)")
                }
            }
        }
        return ProcessingResult(provisions: fields.map(Provision.field), warnings: warnings)
    }
}
