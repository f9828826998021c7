extension ProvisionJSON {
    /// Provisions read back from the text `compactArray` writes (what the catalog stores), or nil
    /// when the text is laid out any other way (a geometry, an escape other than the ones written,
    /// keys in another order): the caller then uses Foundation's decoder, which reads any JSON.
    /// Foundation's decoder spent about 50 µs on each series (a histogram is 128 generic calls):
    /// an object at the 40,000-series limit took 2–6 s to list, show or read xattrs of.
    public static func fields(from text: String) -> [Provision]? {
        var text = text
        return text.withUTF8 { bytes in
            var reader = FieldReader(bytes: bytes)
            return reader.provisions()
        }
    }
}

/// A cursor over the exact layout `ProvisionJSON.compactArray` writes; every method returns nil
/// (or false) at the first byte that differs from it.
private struct FieldReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var at = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func provisions() -> [Provision]? {
        guard take("[") else { return nil }
        var provisions: [Provision] = []
        if take("]") { return at == bytes.count ? provisions : nil }
        repeat {
            guard take("{\"field\":"), let field = field(), take("}") else { return nil }
            provisions.append(.field(field))
        } while take(",")
        guard take("]"), at == bytes.count else { return nil }
        return provisions
    }

    mutating func field() -> Field? {
        guard take("{\"component_stats\":[") else { return nil }
        var components: [ComponentStats] = []
        if !take("]") {
            repeat {
                guard take("{\"name\":"), let name = string(), take(",\"stats\":"), let stats = stats(), take("}") else { return nil }
                components.append(ComponentStats(name: name, stats: stats))
            } while take(",")
            guard take("]") else { return nil }
        }
        guard take(",\"data_type\":"), let dataType = string(),
              take(",\"element_assoc\":"), let assocName = string(), let assoc = ElementAssoc(rawValue: assocName),
              take(",\"has_nan\":"), let hasNaN = bool(),
              take(",\"label\":"), let label = string(),
              take(",\"magnitude_stats\":"), let magnitude = stats(),
              take(",\"num_components\":"), let width = integer(), let components64 = Int(exactly: width),
              take(",\"num_tuples\":"), let tuples = integer(),
              take(",\"quantity_type\":"), let quantity = optional({ $0.string() }),
              take(",\"units\":"), let units = optional({ $0.string() }),
              take("}")
        else { return nil }
        return Field(label: label, elementAssoc: assoc, numComponents: components64, numTuples: tuples, dataType: dataType,
                     hasNan: hasNaN, componentStats: components, magnitudeStats: magnitude, quantityType: quantity, units: units)
    }

    mutating func stats() -> FieldStats? {
        guard take("{\"count\":"), let count = integer() else { return nil }
        var histogram: [Int64] = []
        if take(",\"hist128\":[") {
            histogram.reserveCapacity(128)
            if !take("]") {
                repeat {
                    guard let bin = integer() else { return nil }
                    histogram.append(bin)
                } while take(",")
                guard take("]") else { return nil }
            }
        }
        guard take(",\"max\":"), let max = optional({ $0.double() }),
              take(",\"mean\":"), let mean = optional({ $0.double() }),
              take(",\"min\":"), let min = optional({ $0.double() }),
              take(",\"nan_count\":"), let nans = integer(),
              take(",\"stdev\":"), let stdev = optional({ $0.double() }),
              take("}")
        else { return nil }
        return FieldStats(count: count, nanCount: nans, min: min, max: max, mean: mean, stdev: stdev, hist128: histogram)
    }

    /// `.some(nil)` for `null`, `.some(value)` for a value, nil when neither is there.
    mutating func optional<T>(_ read: (inout FieldReader) -> T?) -> T?? {
        if take("null") { return .some(nil) }
        return read(&self).map { .some($0) }
    }

    mutating func take(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - at >= count else { return false }
        for index in 0..<count where bytes[at + index] != literal.utf8Start[index] { return false }
        at += count
        return true
    }

    mutating func bool() -> Bool? {
        if take("true") { return true }
        if take("false") { return false }
        return nil
    }

    /// An integer as JSON spells one (no leading zeros, no fraction or exponent) within Int64.
    mutating func integer() -> Int64? {
        let negative = take("-")
        let start = at
        var magnitude: UInt64 = 0
        while at < bytes.count, let digit = digit(bytes[at]) {
            let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            at += 1
        }
        let length = at - start
        guard length > 0, length == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if at < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[at]) { return nil }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    /// A JSON number (its grammar checked, then read by the standard library's correctly rounded
    /// conversion), or the strings `LakeJSON` writes for NaN and the infinities.
    mutating func double() -> Double? {
        if take("\"NaN\"") { return .nan }
        if take("\"Infinity\"") { return .infinity }
        if take("\"-Infinity\"") { return -.infinity }
        let start = at
        _ = take("-")
        let integerStart = at
        while at < bytes.count, digit(bytes[at]) != nil { at += 1 }
        guard at > integerStart, at - integerStart == 1 || bytes[integerStart] != UInt8(ascii: "0") else { return nil }
        if take(".") {
            let fractionStart = at
            while at < bytes.count, digit(bytes[at]) != nil { at += 1 }
            guard at > fractionStart else { return nil }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            let exponentStart = at
            while at < bytes.count, digit(bytes[at]) != nil { at += 1 }
            guard at > exponentStart else { return nil }
        }
        guard let value = Double(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)),
              value.isFinite else { return nil }
        return value
    }

    /// A string with the escapes `JSONBytes.string` writes; nil at any other escape.
    mutating func string() -> String? {
        guard take("\"") else { return nil }
        let start = at
        var plain = true
        while at < bytes.count, bytes[at] != UInt8(ascii: "\"") {
            if bytes[at] == UInt8(ascii: "\\") { plain = false; at += 1 }
            else if bytes[at] < 0x20 { return nil }
            at += 1
        }
        guard at < bytes.count else { return nil }
        let body = UnsafeBufferPointer(rebasing: bytes[start..<at])
        at += 1
        if plain { return String(decoding: body, as: UTF8.self) }
        var unescaped: [UInt8] = []
        var index = 0
        while index < body.count {
            let byte = body[index]
            index += 1
            guard byte == UInt8(ascii: "\\") else { unescaped.append(byte); continue }
            guard index < body.count else { return nil }
            let escape = body[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped.append(escape)
            case UInt8(ascii: "n"): unescaped.append(0x0A)
            case UInt8(ascii: "r"): unescaped.append(0x0D)
            case UInt8(ascii: "t"): unescaped.append(0x09)
            case UInt8(ascii: "b"): unescaped.append(0x08)
            case UInt8(ascii: "f"): unescaped.append(0x0C)
            case UInt8(ascii: "u"):
                // Only the control characters the writer escapes; any other \u (a surrogate pair
                // among them) is left to Foundation's decoder.
                guard body.count - index >= 4, body[index] == UInt8(ascii: "0"), body[index + 1] == UInt8(ascii: "0"),
                      let high = hex(body[index + 2]), let low = hex(body[index + 3]), high < 2 else { return nil }
                unescaped.append(high << 4 | low)
                index += 4
            default: return nil
            }
        }
        return String(decoding: unescaped, as: UTF8.self)
    }

    func digit(_ byte: UInt8) -> UInt8? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? byte - UInt8(ascii: "0") : nil
    }

    func hex(_ byte: UInt8) -> UInt8? {
        if let value = digit(byte) { return value }
        if byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f") { return byte - UInt8(ascii: "a") + 10 }
        if byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F") { return byte - UInt8(ascii: "A") + 10 }
        return nil
    }
}
