/// The compact JSON of a list of provisions, the same bytes as `LakeJSON.compactString` writes,
/// written by hand. Foundation's encoder spent some 150 µs on each field (its 128-bin histograms
/// go through generic containers one number at a time): 3 s of a 20,000-field file's processing,
/// inside the catalog's write transaction. Geometries, rare and small, still go through it.
public enum ProvisionJSON {
    /// Written twice: once to count its bytes, then into a string of exactly that size. Growing
    /// a buffer and copying it into a string held up to three times the text (18 MB for 37,000
    /// series) at the moment processing peaks.
    public static func compactArray(_ provisions: [Provision]) -> String {
        var counter = JSONBytes(into: nil)
        write(provisions, to: &counter)
        let size = counter.count
        return String(unsafeUninitializedCapacity: size) { buffer in
            var writer = JSONBytes(into: buffer.baseAddress!)
            write(provisions, to: &writer)
            precondition(writer.count == size, "provisions' JSON changed size between its two passes")
            return size
        }
    }

    static func write(_ provisions: [Provision], to writer: inout JSONBytes) {
        writer.byte("[")
        for (index, provision) in provisions.enumerated() {
            if index > 0 { writer.byte(",") }
            switch provision {
            case .field(let field):
                writer.raw("{\"field\":")
                write(field, to: &writer)
                writer.byte("}")
            case .geometry:
                writer.raw(LakeJSON.compactString(provision))
            }
        }
        writer.byte("]")
    }

    /// Keys in sorted order, as the encoder's `.sortedKeys` puts them.
    static func write(_ field: Field, to writer: inout JSONBytes) {
        writer.raw("{\"component_stats\":[")
        for (index, component) in field.componentStats.enumerated() {
            if index > 0 { writer.byte(",") }
            writer.raw("{\"name\":")
            writer.string(component.name)
            writer.raw(",\"stats\":")
            write(component.stats, to: &writer)
            writer.byte("}")
        }
        writer.raw("],\"data_type\":")
        writer.string(field.dataType)
        writer.raw(",\"element_assoc\":")
        writer.string(field.elementAssoc.rawValue)
        writer.raw(field.hasNan ? ",\"has_nan\":true,\"label\":" : ",\"has_nan\":false,\"label\":")
        writer.string(field.label)
        writer.raw(",\"magnitude_stats\":")
        write(field.magnitudeStats, to: &writer)
        writer.raw(",\"num_components\":")
        writer.integer(Int64(field.numComponents))
        writer.raw(",\"num_tuples\":")
        writer.integer(field.numTuples)
        writer.raw(",\"quantity_type\":")
        writer.optionalString(field.quantityType)
        writer.raw(",\"units\":")
        writer.optionalString(field.units)
        writer.byte("}")
    }

    static func write(_ stats: FieldStats, to writer: inout JSONBytes) {
        writer.raw("{\"count\":")
        writer.integer(stats.count)
        if !stats.hist128.isEmpty {
            writer.raw(",\"hist128\":[")
            for (index, count) in stats.hist128.enumerated() {
                if index > 0 { writer.byte(",") }
                writer.integer(count)
            }
            writer.byte("]")
        }
        writer.raw(",\"max\":")
        writer.optionalDouble(stats.max)
        writer.raw(",\"mean\":")
        writer.optionalDouble(stats.mean)
        writer.raw(",\"min\":")
        writer.optionalDouble(stats.min)
        writer.raw(",\"nan_count\":")
        writer.integer(stats.nanCount)
        writer.raw(",\"stdev\":")
        writer.optionalDouble(stats.stdev)
        writer.byte("}")
    }
}

/// UTF-8 JSON text written into memory the caller sized, or only counted (`into: nil`).
struct JSONBytes {
    private let target: UnsafeMutablePointer<UInt8>?
    private(set) var count = 0

    init(into target: UnsafeMutablePointer<UInt8>?) { self.target = target }

    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        if let target, let base = bytes.baseAddress { (target + count).update(from: base, count: bytes.count) }
        count += bytes.count
    }

    private mutating func append(_ byte: UInt8) {
        target?[count] = byte
        count += 1
    }

    mutating func byte(_ character: Unicode.Scalar) { append(UInt8(ascii: character)) }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { append($0) }
    }

    mutating func raw(_ text: String) {
        var text = text
        text.withUTF8 { append($0) }
    }

    mutating func integer(_ value: Int64) {
        guard value >= 0 else {
            // Int64.min has no positive twin; negative counts never occur, so the slow path is fine.
            raw(String(value))
            return
        }
        if value < 10 {
            append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var rest = UInt64(value)
            var start = 20
            while rest > 0 {
                start -= 1
                digits[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            append(UnsafeBufferPointer(rebasing: digits[start...]))
        }
    }

    /// As the encoder writes a Double: Swift's shortest round-trip spelling without a trailing
    /// ".0"; infinities and NaN as the strings `LakeJSON` names them.
    mutating func double(_ value: Double) {
        if value.isNaN { raw("\"NaN\"") }
        else if value == .infinity { raw("\"Infinity\"") }
        else if value == -.infinity { raw("\"-Infinity\"") }
        else if value.rounded() == value, Swift.abs(value) < 1e15, !(value == 0 && value.sign == .minus) {
            if value < 0 { byte("-") }
            integer(Int64(Swift.abs(value)))
        } else {
            var text = value.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            raw(text)
        }
    }

    mutating func optionalDouble(_ value: Double?) {
        if let value { double(value) } else { raw("null") }
    }

    /// Quotes, backslashes and control characters escaped; '/' and everything beyond ASCII as
    /// is (JSONValue.writeString's rules, on bytes).
    mutating func string(_ value: String) {
        byte("\"")
        for unit in value.utf8 {
            switch unit {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case UInt8(ascii: "\n"): raw("\\n")
            case UInt8(ascii: "\r"): raw("\\r")
            case UInt8(ascii: "\t"): raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case 0..<0x20:
                raw("\\u00")
                for digit in [unit >> 4, unit & 15] {
                    append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
                }
            default: append(unit)
            }
        }
        byte("\"")
    }

    mutating func optionalString(_ value: String?) {
        if let value { string(value) } else { raw("null") }
    }
}
