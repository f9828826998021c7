import Foundation

/// The one JSON encoding of Lake entities: snake_case field names of the Luminary data lake API,
/// RFC 3339 UTC times, keys sorted so output is stable. Used by `--json`, the mounted `.json`
/// files and the xattrs.
public enum LakeJSON {
    public static func encoder(pretty: Bool) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                                          : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return encoder
    }

    public static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return decoder
    }

    public static func data<T: Encodable>(_ value: T, pretty: Bool = false) -> Data {
        // Every Lake type is plain data with finite-or-named floats; encoding cannot fail.
        try! encoder(pretty: pretty).encode(value)
    }

    public static func string<T: Encodable>(_ value: T, pretty: Bool = false) -> String {
        String(decoding: data(value, pretty: pretty), as: UTF8.self)
    }

    public static func compactString<T: Encodable>(_ value: T) -> String { string(value, pretty: false) }

    /// The compact JSON of an array, the same bytes as `compactString`, built one element at a
    /// time: JSONEncoder holds a whole value's tree before writing it, which for the provisions
    /// of a file of 20,000 fields (20 MB of JSON) came to some 120 MB. The pieces are copied
    /// once into a string of their exact size.
    public static func compactArrayString<T: Encodable>(_ values: [T]) -> String {
        let encoder = encoder(pretty: false)
        let pieces = values.map { try! encoder.encode($0) }
        let size = pieces.reduce(2 + Swift.max(pieces.count - 1, 0)) { $0 + $1.count }
        return String(unsafeUninitializedCapacity: size) { buffer in
            var at = 0
            func put(_ byte: UInt8) { buffer[at] = byte; at += 1 }
            put(UInt8(ascii: "["))
            for (index, piece) in pieces.enumerated() {
                if index > 0 { put(UInt8(ascii: ",")) }
                at += piece.copyBytes(to: UnsafeMutableBufferPointer(rebasing: buffer[at...]))
            }
            put(UInt8(ascii: "]"))
            return at
        }
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decoder().decode(type, from: Data(text.utf8))
    }
}
