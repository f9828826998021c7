import Synchronization

/// An entity id: a kind prefix and a time-ordered, lower-case base32 body
/// (48-bit milliseconds since the epoch, then 80 random bits), e.g. `obj-01jd4s2k6c8x9v3m0qz7f5w1ne`.
/// Safe as a path component and sorting like creation time.
public struct LakeID: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case object = "obj"
        case `case` = "case"
        case dataset = "ds"
    }

    public let rawValue: String

    public init(validating text: String, kind expected: Kind? = nil) throws(InputError) {
        guard let dash = text.firstIndex(of: "-"),
              let kind = Kind(rawValue: String(text[..<dash])),
              expected == nil || kind == expected
        else {
            let what = expected.map { "an id like \($0.rawValue)-…" } ?? "an id like obj-…"
            throw InputError("'\(text)' is not \(what)")
        }
        let body = text[text.index(after: dash)...]
        guard body.count == 26, body.allSatisfy({ LakeID.alphabet.contains($0) }) else {
            throw InputError("'\(text)' is not a valid \(kind.rawValue) id (expected \(kind.rawValue)- and 26 base32 characters)")
        }
        rawValue = text
    }

    /// Trusted construction from storage.
    public init(unchecked rawValue: String) { self.rawValue = rawValue }

    public var kind: Kind? {
        guard let dash = rawValue.firstIndex(of: "-") else { return nil }
        return Kind(rawValue: String(rawValue[..<dash]))
    }

    public var description: String { rawValue }
    public static func < (a: LakeID, b: LakeID) -> Bool { a.rawValue < b.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz")

    private static let last = Mutex<(millis: UInt64, random: (UInt64, UInt16))>((0, (0, 0)))

    /// A new id, strictly increasing within this process even inside one millisecond.
    public static func make(_ kind: Kind, at millis: UInt64) -> LakeID {
        let (ms, hi, lo) = last.withLock { state -> (UInt64, UInt64, UInt16) in
            if millis <= state.millis {
                // Same (or earlier) millisecond: increment the random part to keep ids ordered.
                var (hi, lo) = state.random
                lo &+= 1
                if lo == 0 { hi &+= 1 }
                state.random = (hi, lo)
                return (state.millis, hi, lo)
            }
            let random = (UInt64.random(in: 0...(UInt64.max >> 1)), UInt16.random(in: 0...UInt16.max))
            state = (millis, random)
            return (millis, random.0, random.1)
        }
        // 130 bits laid out as 26 base32 digits: 48 bits of time, 64 + 16 bits of randomness
        // (the top two bits are zero padding).
        var digits = [Character](repeating: "0", count: 26)
        var time = ms
        for i in stride(from: 9, through: 0, by: -1) {
            digits[i] = alphabet[Int(time & 31)]
            time >>= 5
        }
        var randomHigh = hi
        var randomLow = UInt64(lo)
        for i in stride(from: 25, through: 10, by: -1) {
            digits[i] = alphabet[Int(randomLow & 31)]
            randomLow = (randomLow >> 5) | ((randomHigh & 31) << 11)
            randomHigh >>= 5
        }
        return LakeID(unchecked: kind.rawValue + "-" + String(digits))
    }
}
