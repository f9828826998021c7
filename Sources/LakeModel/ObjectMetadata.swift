/// Metadata given to a file dropped into `incoming/`, with the same set-once rules as `lake
/// upload`'s options: params (each key once), tags (replaced), field annotations (each field
/// once) and geometry units (once). It comes as a sidecar `FILE.lake.json` copied beside the file
/// or as `user.lake.*` xattrs set on it.
public struct ObjectMetadata: Hashable, Sendable {
    public var params: [String: Param] = [:]
    public var tags: [String: JSONValue]?
    public var annotations: [FieldAnnotation] = []
    public var geometryUnits: String?

    public init(params: [String: Param] = [:], tags: [String: JSONValue]? = nil, annotations: [FieldAnnotation] = [],
                geometryUnits: String? = nil) {
        self.params = params
        self.tags = tags
        self.annotations = annotations
        self.geometryUnits = geometryUnits
    }

    public var isEmpty: Bool { params.isEmpty && tags == nil && annotations.isEmpty && geometryUnits == nil }

    /// The xattrs that set metadata, by the key a sidecar uses for each.
    public static let xattrKeys = ["user.lake.params": "params", "user.lake.tags": "tags",
                                   "user.lake.annotations": "annotations", "user.lake.geometry_units": "geometry_units"]

    /// The largest sidecar read (a sidecar is a few lines of JSON; anything larger is a mistake).
    public static let maximumSidecarBytes = 64 * 1024

    /// A sidecar's JSON: `{"params": {...}, "tags": {...}, "annotations": [...], "geometry_units": "mm"}`,
    /// every key optional, no others.
    public init(sidecar bytes: [UInt8]) throws(InputError) {
        guard bytes.count <= Self.maximumSidecarBytes else {
            throw InputError("a .lake.json sidecar holds at most \(Self.maximumSidecarBytes / 1024) KiB")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw InputError("a .lake.json sidecar is UTF-8 JSON") }
        let json: JSONValue
        do { json = try JSONValue(parsing: text) } catch { throw InputError("the sidecar is not JSON: \(error.message)") }
        guard case .object(let members) = json else {
            throw InputError("a .lake.json sidecar is a JSON object with params, tags, annotations and geometry_units")
        }
        let known = Set(Self.xattrKeys.values)
        if let unknown = members.keys.sorted().first(where: { !known.contains($0) }) {
            throw InputError("the sidecar has '\(unknown)'\(Suggestions.phrase(for: unknown, among: Array(known))); "
                             + "it may hold params, tags, annotations and geometry_units")
        }
        for (key, value) in members { try set(key, value) }
    }

    /// One `user.lake.*` xattr: JSON for params, tags and annotations; plain text (or a JSON
    /// string) for geometry units.
    public init(xattr name: String, value bytes: [UInt8]) throws(InputError) {
        guard let key = Self.xattrKeys[name] else { throw InputError("\(name) is not metadata a file takes") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw InputError("\(name) takes UTF-8 text") }
        if key == "geometry_units" {
            // `setfattr -v mm` and `echo mm | …` alike: surrounding white space is not the unit.
            let plain = String(String(text.drop(while: \.isWhitespace).reversed()).drop(while: \.isWhitespace).reversed())
            try set(key, (try? JSONValue(parsing: plain)).flatMap { if case .string = $0 { $0 } else { nil } } ?? .string(plain))
            return
        }
        do { try set(key, try JSONValue(parsing: text)) } catch {
            throw InputError("\(name): \(error.message)")
        }
    }

    private mutating func set(_ key: String, _ value: JSONValue) throws(InputError) {
        switch key {
        case "params":
            guard case .object(let members) = value else {
                throw InputError("params is a JSON object: {\"mach\": 0.8, \"aoa\": {\"value\": 4, \"units\": \"deg\"}}")
            }
            for (name, given) in members {
                guard !name.isEmpty else { throw InputError("a param needs a name") }
                if case .object(let parts) = given {
                    guard let inner = parts["value"], Set(parts.keys).isSubset(of: ["value", "units"]) else {
                        throw InputError("param '\(name)' is a value or {\"value\": …, \"units\": \"…\"}")
                    }
                    var units: String?
                    if let given = parts["units"] {
                        guard case .string(let text) = given, !text.isEmpty else { throw InputError("param '\(name)': units are a non-empty string") }
                        units = text
                    }
                    params[name] = Param(value: try ParamValue(json: inner), units: units)
                } else {
                    params[name] = Param(value: try ParamValue(json: given))
                }
            }
        case "tags":
            guard case .object(let members) = value else { throw InputError("tags are a JSON object: {\"project\": \"wing\"}") }
            tags = members
        case "annotations":
            guard case .array(let items) = value else {
                throw InputError("annotations are a JSON array: [\"p:POINT=PRESSURE@Pa\"] or [{\"label\": …, \"element_assoc\": …, \"quantity_type\": …}]")
            }
            for item in items {
                switch item {
                case .string(let text):
                    annotations.append(try FieldAnnotation.parse(text))
                case .object(let parts):
                    guard case .string(let label)? = parts["label"], case .string(let assoc)? = parts["element_assoc"],
                          case .string(let quantity)? = parts["quantity_type"] else {
                        throw InputError("an annotation object has label, element_assoc and quantity_type (and units)")
                    }
                    var text = "\(label):\(assoc)=\(quantity)"
                    if case .string(let units)? = parts["units"] { text += "@\(units)" }
                    annotations.append(try FieldAnnotation.parse(text))
                default:
                    throw InputError("an annotation is \"LABEL:POINT|CELL=QUANTITY[@UNITS]\" or an object")
                }
            }
        case "geometry_units":
            guard case .string(let units) = value, !units.isEmpty else { throw InputError("geometry_units is a unit name, e.g. \"mm\"") }
            geometryUnits = try GeometryUnits.parse(units)
        default:
            throw InputError("unknown metadata '\(key)'")
        }
    }

    /// Adds what `other` sets; the same value twice is fine, two different ones are refused (as
    /// applying them one after the other would be).
    public mutating func merge(_ other: ObjectMetadata) throws(InputError) {
        for (key, param) in other.params {
            if let mine = params[key], mine != param { throw InputError("param '\(key)' is given twice with different values") }
            params[key] = param
        }
        if let tags = other.tags { self.tags = tags }
        for annotation in other.annotations {
            if let mine = annotations.first(where: { $0.label == annotation.label && $0.elementAssoc == annotation.elementAssoc }) {
                if mine != annotation { throw InputError("field \(annotation.label):\(annotation.elementAssoc.rawValue) is annotated twice differently") }
                continue
            }
            annotations.append(annotation)
        }
        if let units = other.geometryUnits {
            if let mine = geometryUnits, mine != units { throw InputError("geometry units are given twice: '\(mine)' and '\(units)'") }
            geometryUnits = units
        }
    }
}
