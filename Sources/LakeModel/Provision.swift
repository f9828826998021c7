/// A derived field of a VTK dataset.
public struct Field: Hashable, Sendable, Codable {
    public var label: String
    public var elementAssoc: ElementAssoc
    public var numComponents: Int
    public var numTuples: Int64
    public var dataType: String
    public var hasNan: Bool
    public var componentStats: [ComponentStats]
    public var magnitudeStats: FieldStats
    public var quantityType: String?
    public var units: String?

    public init(label: String, elementAssoc: ElementAssoc, numComponents: Int, numTuples: Int64, dataType: String,
                hasNan: Bool, componentStats: [ComponentStats], magnitudeStats: FieldStats,
                quantityType: String? = nil, units: String? = nil) {
        self.label = label
        self.elementAssoc = elementAssoc
        self.numComponents = numComponents
        self.numTuples = numTuples
        self.dataType = dataType
        self.hasNan = hasNan
        self.componentStats = componentStats
        self.magnitudeStats = magnitudeStats
        self.quantityType = quantityType
        self.units = units
    }

    enum CodingKeys: String, CodingKey {
        case label, units
        case elementAssoc = "element_assoc"
        case numComponents = "num_components"
        case numTuples = "num_tuples"
        case dataType = "data_type"
        case hasNan = "has_nan"
        case componentStats = "component_stats"
        case magnitudeStats = "magnitude_stats"
        case quantityType = "quantity_type"
    }

    /// `quantity_type` and `units` are written as `null` until annotated, never left out: json.md's
    /// rule for absent values (a reader can tell "not annotated" from "not in this format").
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(label, forKey: .label)
        try container.encode(elementAssoc, forKey: .elementAssoc)
        try container.encode(numComponents, forKey: .numComponents)
        try container.encode(numTuples, forKey: .numTuples)
        try container.encode(dataType, forKey: .dataType)
        try container.encode(hasNan, forKey: .hasNan)
        try container.encode(componentStats, forKey: .componentStats)
        try container.encode(magnitudeStats, forKey: .magnitudeStats)
        try container.encode(quantityType, forKey: .quantityType)
        try container.encode(units, forKey: .units)
    }
}

/// Axis-aligned bounds of a geometry.
public struct Bounds: Hashable, Sendable, Codable {
    public var min: [Double]
    public var max: [Double]
    public init(min: [Double], max: [Double]) {
        self.min = min
        self.max = max
    }
}

/// What a geometry file (STL, STEP) provides: its declared length units, and for STL the
/// triangle count and bounds.
public struct Geometry: Hashable, Sendable, Codable {
    public var units: String?
    public var triangleCount: Int64?
    public var bounds: Bounds?

    public init(units: String?, triangleCount: Int64? = nil, bounds: Bounds? = nil) {
        self.units = units
        self.triangleCount = triangleCount
        self.bounds = bounds
    }

    enum CodingKeys: String, CodingKey {
        case units, bounds
        case triangleCount = "triangle_count"
    }
}

/// What an object provides: a field or a geometry (a JSON one-of: `{"field": …}` or `{"geometry": …}`).
public enum Provision: Hashable, Sendable, Codable {
    case field(Field)
    case geometry(Geometry)

    enum CodingKeys: String, CodingKey { case field, geometry }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let field = try container.decodeIfPresent(Field.self, forKey: .field) {
            self = .field(field)
        } else {
            self = .geometry(try container.decode(Geometry.self, forKey: .geometry))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .field(let field): try container.encode(field, forKey: .field)
        case .geometry(let geometry): try container.encode(geometry, forKey: .geometry)
        }
    }
}

/// Length units a geometry may be declared in.
public enum GeometryUnits {
    public static let valid = ["m", "cm", "mm", "um", "in", "ft"]

    /// The warning a geometry without declared units carries, until they are set (which removes
    /// it: a warning must not outlive its cause).
    public static let missingWarningStart = "no geometry units were declared"
    public static func missingWarning(_ id: LakeID) -> String {
        "\(missingWarningStart); set them once with `lake object update \(id) --geometry-units mm` (valid: \(valid.joined(separator: ", ")))"
    }

    public static func parse(_ text: String) throws(InputError) -> String {
        guard valid.contains(text) else {
            throw InputError("'\(text)' is not a geometry unit; valid units: \(valid.joined(separator: ", "))")
        }
        return text
    }
}

extension Provision {
    /// The provision without histograms, for compact views such as xattrs.
    public var withoutHistograms: Provision {
        guard case .field(var field) = self else { return self }
        field.magnitudeStats = field.magnitudeStats.withoutHistogram
        field.componentStats = field.componentStats.map { ComponentStats(name: $0.name, stats: $0.stats.withoutHistogram) }
        return .field(field)
    }

    /// Only what identifies the provision and its magnitude range, for when even the compact form is too large.
    public var summary: Provision {
        guard case .field(var field) = withoutHistograms else { return self }
        field.componentStats = []
        return .field(field)
    }
}
