/// A parameter value as the Luminary data lake has it: a JSON scalar or a numeric vector.
public enum ParamValue: Hashable, Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case vector([Double])

    public var json: JSONValue {
        switch self {
        case .number(let n): .number(n)
        case .string(let s): .string(s)
        case .bool(let b): .bool(b)
        case .vector(let v): .array(v.map { .number($0) })
        }
    }

    public init(json: JSONValue) throws(InputError) {
        switch json {
        case .number(let n): self = .number(n)
        case .string(let s): self = .string(s)
        case .bool(let b): self = .bool(b)
        case .array(let items):
            var numbers: [Double] = []
            for item in items {
                guard case .number(let n) = item else {
                    throw InputError("a vector parameter holds numbers only, got \(json.compactText)")
                }
                numbers.append(n)
            }
            guard !numbers.isEmpty else { throw InputError("a vector parameter needs at least one number") }
            self = .vector(numbers)
        case .null, .object:
            throw InputError("a parameter is a number, string, bool or numeric vector, got \(json.compactText)")
        }
    }

    /// The type name used by dataset `params_schema`: `scalar`, `str`, `bool`, `vec-N`.
    public var typeName: String {
        switch self {
        case .number: "scalar"
        case .string: "str"
        case .bool: "bool"
        case .vector(let v): "vec-\(v.count)"
        }
    }
}

/// `Param{value, units}`: immutable once set on an object.
public struct Param: Hashable, Sendable, Codable {
    public var value: ParamValue
    public var units: String?

    public init(value: ParamValue, units: String? = nil) {
        self.value = value
        self.units = units
    }

    enum CodingKeys: String, CodingKey { case value, units }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        value = try ParamValue(json: container.decode(JSONValue.self, forKey: .value))
        units = try container.decodeIfPresent(String.self, forKey: .units)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(value.json, forKey: .value)
        try container.encodeIfPresent(units, forKey: .units)
    }
}

public enum Assignment {
    /// Splits `KEY=VALUE` at the first `=`; the key must be non-empty.
    public static func split(_ text: String, what: String, example: String) throws(InputError) -> (key: String, value: String) {
        guard let eq = text.firstIndex(of: "=") else {
            throw InputError("\(what) '\(text)' has no '='; write it as \(example)")
        }
        let key = String(text[..<eq]).trimmingSpaces
        guard !key.isEmpty else { throw InputError("\(what) '\(text)' has an empty key; write it as \(example)") }
        return (key, String(text[text.index(after: eq)...]))
    }

    /// A value given on the command line: a number as people write it (`0.8`, `.310`, `+5`,
    /// `5.`, `1e3`), else JSON when it parses as JSON, otherwise a plain string. Text that starts
    /// like a JSON array, object or quoted string must be valid JSON.
    public static func jsonOrString(_ text: String, what: String) throws(InputError) -> JSONValue {
        let trimmed = text.trimmingSpaces
        if let value = numberOrJSON(trimmed) { return value }
        if let first = trimmed.first, "[{\"".contains(first) {
            throw InputError("\(what): '\(text)' starts like JSON but is not valid JSON")
        }
        return .string(text)
    }

    /// A number as people write it, else JSON, else nil.
    static func numberOrJSON(_ trimmed: String) -> JSONValue? {
        PlainNumber.parse(trimmed).map(JSONValue.number) ?? (try? JSONValue(parsing: trimmed))
    }
}

extension Param {
    /// Parses `KEY=VALUE[@UNITS]` from the command line. VALUE is JSON (number, bool, quoted
    /// string, numeric vector) or a bare word taken as a string; `@UNITS` follows a
    /// non-string value, e.g. `mach=0.8`, `velocity=[1,0,0]@m/s`, `solver=rhoSimpleFoam`.
    public static func parse(assignment text: String) throws(InputError) -> (key: String, param: Param) {
        let example = "KEY=VALUE[@UNITS], e.g. mach=0.8 or velocity=[10,0,0]@m/s"
        let (key, rest) = try Assignment.split(text, what: "--param", example: example)
        guard !rest.isEmpty else { throw InputError("--param '\(text)' has no value; write it as \(example)") }
        if let at = rest.lastIndex(of: "@") {
            let valueText = String(rest[..<at])
            let units = String(rest[rest.index(after: at)...]).trimmingSpaces
            if let json = Assignment.numberOrJSON(valueText.trimmingSpaces) {
                guard !units.isEmpty else {
                    throw InputError("--param '\(text)' has an empty unit after '@'; write it as \(example)")
                }
                do {
                    return (key, Param(value: try ParamValue(json: json), units: units))
                } catch {
                    throw InputError("--param '\(text)': \(error.message)")
                }
            }
        }
        let json = try Assignment.jsonOrString(rest, what: "--param '\(text)'")
        do {
            return (key, Param(value: try ParamValue(json: json)))
        } catch {
            throw InputError("--param '\(text)': \(error.message)")
        }
    }
}

extension String {
    var trimmingSpaces: String {
        var slice = Substring(self)
        while let c = slice.first, c.isWhitespace { slice.removeFirst() }
        while let c = slice.last, c.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
