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
