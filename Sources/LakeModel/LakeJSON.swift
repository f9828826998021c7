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

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decoder().decode(type, from: Data(text.utf8))
    }
}
