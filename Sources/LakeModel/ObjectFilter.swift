/// Bounds on a number; every bound set must hold.
public struct RangeFilter: Hashable, Sendable {
    public var gt: Double?, gte: Double?, lt: Double?, lte: Double?, eq: Double?, ne: Double?
    public init(gt: Double? = nil, gte: Double? = nil, lt: Double? = nil, lte: Double? = nil, eq: Double? = nil, ne: Double? = nil) {
        self.gt = gt; self.gte = gte; self.lt = lt; self.lte = lte; self.eq = eq; self.ne = ne
    }

    /// Each set bound as (SQL operator, value).
    public var bounds: [(String, Double)] {
        [(">", gt), (">=", gte), ("<", lt), ("<=", lte), ("=", eq), ("!=", ne)].compactMap { op, value in value.map { (op, $0) } }
    }

    mutating func add(_ op: String, _ value: Double) {
        switch op {
        case ">": gt = value
        case ">=": gte = value
        case "<": lt = value
        case "<=": lte = value
        case "=": eq = value
        default: ne = value
        }
    }
}

/// One provision must satisfy every set part (magnitude ranges apply to magnitude_stats).
public struct ProvisionFilter: Hashable, Sendable {
    /// A field of exactly this name, or whose name contains this text (case-sensitive).
    public var label: String?
    public var labelContains: String?
    public var quantityType: String?
    public var elementAssoc: ElementAssoc?
    public var units: String?
    public var magMin = RangeFilter(), magMax = RangeFilter(), magMean = RangeFilter()
    public init() {}
}

public struct ParamFilter: Hashable, Sendable {
    public enum Matcher: Hashable, Sendable {
        case number(RangeFilter)
        case string(String)
        case bool(Bool)
    }
    public var key: String
    public var matcher: Matcher
    public init(key: String, matcher: Matcher) {
        self.key = key
        self.matcher = matcher
    }
}

/// Luminary's ObjectFilter: every set axis must hold (statuses and formats: any of).
/// A case or dataset matches when some member object does.
public struct ObjectFilter: Hashable, Sendable {
    public var statuses: [ObjectStatus] = []
    public var formats: [FileFormat] = []
    public var nameContains: String?
    /// JSON containment: each object's tags must contain every one of these.
    public var tags: [[String: JSONValue]] = []
    public var params: [ParamFilter] = []
    public var provisions: [ProvisionFilter] = []
    public init() {}

    public var isEmpty: Bool {
        statuses.isEmpty && formats.isEmpty && nameContains == nil && tags.isEmpty && params.isEmpty && provisions.isEmpty
    }
}

extension ObjectFilter {
    static let operators = [">=", "<=", "!=", ">", "<", "="]

    /// Splits `key<op>value` at the first operator.
    static func comparison(_ text: Substring, what: String) throws(InputError) -> (key: String, op: String, value: String) {
        for index in text.indices {
            for op in operators where text[index...].hasPrefix(op) {
                let key = String(text[..<index]).trimmingSpaces, value = String(text[text.index(index, offsetBy: op.count)...]).trimmingSpaces
                guard !key.isEmpty, !value.isEmpty else { break }
                return (key, op, value)
            }
        }
        throw InputError("\(what) '\(text)' needs a comparison like mach>=0.8 (operators: = != < <= > >=)")
    }

    /// `--param 'mach>=0.8'`, `--param 'solver=rans'`, `--param 'converged=true'`.
    public static func param(parsing text: String) throws(InputError) -> ParamFilter {
        let (key, op, value) = try comparison(Substring(text), what: "--param")
        if let next = value.first, "<>=!".contains(next) {
            // `mach=>0.8` would otherwise look for the string ">0.8" and find nothing.
            let intended = ["=>": ">=", "=<": "<=", "==": "=", "=!": "!="][op + String(next)]
            throw InputError("--param '\(text)': '\(op)' is followed by '\(next)'"
                + (intended.map { "; did you mean '\(key)\($0)\(String(value.dropFirst()).trimmingSpaces)'?" } ?? "")
                + " (operators: = != < <= > >=)")
        }
        if let quoted = Self.quoted(value) {
            guard op == "=" else {
                throw InputError("--param '\(text)': '\(op)' compares numbers, and \(value) is a string (strings take '=')")
            }
            return ParamFilter(key: key, matcher: .string(quoted))
        }
        if let number = PlainNumber.parse(value) {
            var range = RangeFilter()
            range.add(op, number)
            return ParamFilter(key: key, matcher: .number(range))
        }
        guard op == "=" else {
            throw InputError("--param '\(text)': '\(op)' compares numbers, and '\(value)' is not a number (strings and bools take '=')")
        }
        if value == "true" || value == "false" { return ParamFilter(key: key, matcher: .bool(value == "true")) }
        return ParamFilter(key: key, matcher: .string(value))
    }

    /// The text between double quotes, when `value` is a JSON string (`"0.310"` is the string
    /// 0.310, not the number).
    static func quoted(_ value: String) -> String? {
        guard value.count >= 2, value.first == "\"", value.last == "\"",
              case .string(let text)? = try? JSONValue(parsing: value) else { return nil }
        return text
    }

    /// `--provision 'quantity_type=PRESSURE,element_assoc=POINT,units=Pa,mag_max<=1e5'`.
    public static func provision(parsing text: String) throws(InputError) -> ProvisionFilter {
        var filter = ProvisionFilter()
        for part in text.split(separator: ",") {
            let (key, op, value) = try comparison(part, what: "--provision part")
            switch key {
            case "quantity_type", "element_assoc", "units", "label", "label_contains":
                guard op == "=" else { throw InputError("--provision: \(key) takes '=', got '\(part)'") }
                if key == "label" { filter.label = Self.quoted(value) ?? value }
                if key == "label_contains" { filter.labelContains = Self.quoted(value) ?? value }
                if key == "quantity_type" { filter.quantityType = try QuantityType.named(value).name }
                if key == "element_assoc" { filter.elementAssoc = try ElementAssoc(parsing: value) }
                if key == "units" { filter.units = value }
            case "mag_min", "mag_max", "mag_mean":
                guard let number = PlainNumber.parse(value) else { throw InputError("--provision: '\(value)' in '\(part)' is not a number") }
                switch key {
                case "mag_min": filter.magMin.add(op, number)
                case "mag_max": filter.magMax.add(op, number)
                default: filter.magMean.add(op, number)
                }
            default:
                let keys = ["label", "label_contains", "quantity_type", "element_assoc", "units", "mag_min", "mag_max", "mag_mean"]
                throw InputError("--provision: unknown key '\(key)'\(Suggestions.phrase(for: key, among: keys)) (keys: \(keys.joined(separator: ", ")))")
            }
        }
        return filter
    }
}

/// Tags flattened into (path, value) leaves, the form containment is checked on: an object's
/// tags contain a filter when every leaf of the filter is among the object's leaves. Array
/// elements share their array's path with `[]`, so `{"k":[1]}` is contained in `{"k":[1,2]}`.
public enum TagLeaves {
    public static func of(_ tags: [String: JSONValue]) -> [(path: String, value: String)] {
        var leaves: [(String, String)] = []
        func walk(_ value: JSONValue, _ path: String) {
            switch value {
            case .object(let members):
                if members.isEmpty { leaves.append((path, "{}")) }
                for (key, member) in members { walk(member, path + "." + key) }
            case .array(let items):
                if items.isEmpty { leaves.append((path, "[]")) }
                for item in items { walk(item, path + "[]") }
            default:
                leaves.append((path, value.compactText))
            }
        }
        for (key, value) in tags { walk(value, "$." + key) }
        return leaves
    }
}
