import LakeSystem

/// A run of base64 characters in a file, decoded on demand at any byte position (4 characters
/// carry 3 bytes), so compressed blocks can be decoded in parallel. VTK writes runs without
/// whitespace; a character outside the alphabet is an error, never skipped.
struct Base64Run: Sendable {
    let file: ReadableFile
    let start: Int64          // file offset of the first character
    let characters: Int64     // length in characters, a multiple of 4
    let decodedCount: Int64   // bytes it decodes to (padding removed)
    let what: String

    static let table: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(c)] = Int8(i)
        }
        return table
    }()

    /// The run of `characters` characters at `start`; the padding is read to know its decoded size.
    init(file: ReadableFile, start: Int64, characters: Int64, what: String) throws(FormatError) {
        guard characters >= 0, characters % 4 == 0 else {
            throw FormatError("\(what): base64 data of the wrong length (\(characters) characters is not a multiple of 4)")
        }
        guard start >= 0, start + characters <= file.size else {
            throw FormatError("\(what): base64 data runs past the end of the file")
        }
        self.file = file
        self.start = start
        self.characters = characters
        self.what = what
        var padding: Int64 = 0
        if characters > 0 {
            let tail = (try? file.bytes(at: start + characters - 2, count: 2)) ?? []
            padding = Int64(tail.filter { $0 == UInt8(ascii: "=") }.count)
            if tail.first == UInt8(ascii: "=") && tail.last != UInt8(ascii: "=") {
                throw FormatError("\(what): invalid base64 padding")
            }
        }
        decodedCount = characters / 4 * 3 - padding
    }

    /// Characters needed to encode `bytes` bytes.
    static func characters(for bytes: Int64) -> Int64 {
        // Saturates instead of overflowing, so hostile sizes simply fail the bounds checks.
        bytes > Int64.max / 2 ? Int64.max : (bytes + 2) / 3 * 4
    }

    /// Decodes bytes [range) of the run into a new array.
    func decode(_ range: Range<Int64>) throws -> [UInt8] {
        guard range.lowerBound >= 0, range.upperBound <= decodedCount else {
            throw FormatError("\(what): the data is shorter than its header declares")
        }
        if range.isEmpty { return [] }
        let firstGroup = range.lowerBound / 3
        let lastGroup = (range.upperBound - 1) / 3
        let text = try file.bytes(at: start + firstGroup * 4, count: Int((lastGroup - firstGroup + 1) * 4))
        var out = [UInt8]()
        out.reserveCapacity(text.count / 4 * 3)
        let table = Self.table
        let totalGroups = characters / 4
        var i = 0
        var group = firstGroup
        while i < text.count {
            let isLast = group == totalGroups - 1
            var values = [Int32](repeating: 0, count: 4)
            var count = 4
            for j in 0..<4 {
                let c = text[i + j]
                if c == UInt8(ascii: "=") && isLast && j >= 2 {
                    count = min(count, j)
                    continue
                }
                let v = table[Int(c)]
                guard v >= 0, count == 4 || j < count else {
                    throw FormatError("\(what): invalid base64 character '\(Self.printable(c))' at byte \(start + group * 4 + Int64(j))")
                }
                values[j] = Int32(v)
            }
            let word = values[0] << 18 | values[1] << 12 | values[2] << 6 | values[3]
            out.append(UInt8(truncatingIfNeeded: word >> 16))
            if count > 2 { out.append(UInt8(truncatingIfNeeded: word >> 8)) }
            if count > 3 { out.append(UInt8(truncatingIfNeeded: word)) }
            i += 4
            group += 1
        }
        let skip = Int(range.lowerBound - firstGroup * 3)
        return Array(out[skip..<(skip + Int(range.count))])
    }

    static func printable(_ c: UInt8) -> String {
        c >= 32 && c < 127 ? String(UnicodeScalar(c)) : "\\x" + String(c, radix: 16)
    }
}
