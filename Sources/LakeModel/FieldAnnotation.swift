/// Where a field's values live on the mesh.
public enum ElementAssoc: String, Codable, Sendable, CaseIterable {
    case point = "POINT"
    case cell = "CELL"

    public init(parsing text: String) throws(InputError) {
        guard let assoc = ElementAssoc(rawValue: text.uppercased()) else {
            throw InputError("'\(text)' is not an element association; use POINT or CELL")
        }
        self = assoc
    }
}

/// `FieldAnnotation{label, element_assoc, quantity_type, units}`: what a field means, matched to
/// derived fields by `(label, element_assoc)`.
public struct FieldAnnotation: Hashable, Sendable, Codable {
    public var label: String
    public var elementAssoc: ElementAssoc
    public var quantityType: String
    public var units: String?

    public init(label: String, elementAssoc: ElementAssoc, quantityType: String, units: String?) {
        self.label = label
        self.elementAssoc = elementAssoc
        self.quantityType = quantityType
        self.units = units
    }

    enum CodingKeys: String, CodingKey {
        case label, units
        case elementAssoc = "element_assoc"
        case quantityType = "quantity_type"
    }

    /// Parses `LABEL:POINT|CELL=QUANTITY[@UNITS]`. The label may itself hold `:` or `=`;
    /// the last `=` and the last `:` before it are the separators. Without units the
    /// quantity's canonical unit is used.
    public static func parse(_ text: String) throws(InputError) -> FieldAnnotation {
        let example = "LABEL:POINT|CELL=QUANTITY[@UNITS], e.g. p:POINT=PRESSURE@Pa"
        guard let eq = text.lastIndex(of: "=") else {
            throw InputError("--annotate '\(text)' has no '='; write it as \(example)")
        }
        let target = text[..<eq]
        guard let colon = target.lastIndex(of: ":") else {
            throw InputError("--annotate '\(text)' has no ':POINT' or ':CELL'; write it as \(example)")
        }
        let label = String(target[..<colon])
        guard !label.isEmpty else { throw InputError("--annotate '\(text)' has an empty label; write it as \(example)") }
        let assoc: ElementAssoc
        do { assoc = try ElementAssoc(parsing: String(target[target.index(after: colon)...])) } catch {
            throw InputError("--annotate '\(text)': \(error.message)")
        }
        var quantityText = String(text[text.index(after: eq)...])
        var units: String?
        if let at = quantityText.lastIndex(of: "@") {
            units = String(quantityText[quantityText.index(after: at)...])
            quantityText = String(quantityText[..<at])
            guard !(units!.isEmpty) else { throw InputError("--annotate '\(text)' has an empty unit after '@'") }
        }
        let quantity: QuantityType
        do { quantity = try QuantityType.named(quantityText) } catch {
            throw InputError("--annotate '\(text)': \(error.message)")
        }
        let canonical = quantity.canonicalUnit.isEmpty ? nil : quantity.canonicalUnit
        return FieldAnnotation(label: label, elementAssoc: assoc, quantityType: quantity.name, units: units ?? canonical)
    }
}
