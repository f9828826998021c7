import Foundation
import Testing
@testable import LakeModel

/// `JSONValue.compactText` is written by hand for speed; the general encoder is the reference.
@Suite struct JSONValueTests {
    @Test(arguments: [
        JSONValue.null, .bool(true), .bool(false), .number(0), .number(-0.0), .number(42), .number(-7),
        .number(0.1), .number(1.5e300), .number(-2.5e-8), .number(9_007_199_254_740_992), .number(123456789012),
        .number(.infinity), .number(.nan), .string(""), .string("plain"),
        .string("quote \" backslash \\ slash / tab \t newline \n return \r"),
        .string("bell \u{07} backspace \u{08} formfeed \u{0C} escape \u{1B} unit \u{1F} delete \u{7F}"),
        .string("café, Ωmega, 日本, 🚀"), .array([]), .object([:]),
        .array([.number(1), .string("a"), .null, .array([.bool(true)])]),
        .object(["b": .number(2), "a": .object(["z": .null, "y": .array([])]), "Zed": .string("x"), "_u": .bool(false),
                 "é": .number(3), "10": .number(10), "9": .number(9)]),
    ])
    func writesWhatTheEncoderWrites(value: JSONValue) throws {
        #expect(value.compactText == LakeJSON.compactString(value))
        // And what it writes reads back as the same value.
        if case .number(let number) = value, !number.isFinite { return }
        #expect(try JSONValue(parsing: value.compactText) == value)
    }
}

@Suite struct CompactArrayJSONTests {
    /// Provisions are stored as one compact JSON array built one element at a time; the bytes
    /// must be those of encoding the array at once (the catalog's stored JSON is served verbatim).
    @Test func anArrayBuiltElementByElementIsTheSameJSON() throws {
        let stats = FieldStats(count: 3, nanCount: 1, min: -1.5, max: 1e-300, mean: .nan, stdev: .infinity,
                               hist128: (0..<128).map { Int64($0 * 7) })
        let values: [[String: FieldStats]] = [[:], ["a/b": stats], ["é \"q\"": stats.withoutHistogram, "z": stats]]
        for count in [0, 1, 2, 3] {
            let array = Array(values.prefix(count))
            #expect(LakeJSON.compactArrayString(array) == LakeJSON.compactString(array))
        }
    }
}
