/// A name in a folder, as bytes: Linux names are bytes, so two names that differ in any byte
/// (the NFC and NFD forms of one word, bytes that are not UTF-8) are two names. Comparing them
/// as Swift strings would not do: strings compare by Unicode canonical equivalence, and
/// decoding repairs invalid UTF-8 into U+FFFD.
public struct FileName: Hashable, Sendable, Comparable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { bytes = Array(string.utf8) }

    /// The name from a C string.
    public init(cString: UnsafePointer<CChar>) {
        bytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(cString).assumingMemoryBound(to: UInt8.self), count: strlen(cString)))
    }

    /// The name as text, when its bytes are valid UTF-8.
    public var string: String? { String(validating: bytes, as: UTF8.self) }
    /// For messages and object names: bytes that are not UTF-8 become U+FFFD.
    public var display: String { String(decoding: bytes, as: UTF8.self) }

    /// The name as text that loses nothing (the object's `name` and `file.name`): a name that is
    /// valid UTF-8 without a backslash is itself; in any other, a backslash is written `\\` and
    /// each byte that is not part of valid UTF-8 `\xHH` (lower-case hex). Distinct names give
    /// distinct texts, and the bytes can be read back.
    public var lossless: String {
        if let text = string, !bytes.contains(UInt8(ascii: "\\")) { return text }
        var out = ""
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                out += "\\\\"
                index += 1
                continue
            }
            // The UTF-8 sequence starting here (its lead byte says 1–4 bytes), else one raw byte.
            var taken = false
            for length in 1...4 where index + length <= bytes.count {
                if let scalar = String(validating: bytes[index..<(index + length)], as: UTF8.self), scalar.unicodeScalars.count == 1 {
                    out += scalar
                    index += length
                    taken = true
                    break
                }
            }
            if !taken {
                // Only bytes from 0x80 up are ever invalid (ASCII is valid UTF-8): two hex digits.
                out += "\\x" + String(bytes[index], radix: 16)
                index += 1
            }
        }
        return out
    }

    public var isEmpty: Bool { bytes.isEmpty }
    /// Names starting with `.` are temporary until renamed (editors, rsync, cp's backups).
    public var isHidden: Bool { bytes.first == UInt8(ascii: ".") }

    public func withCString<T>(_ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
        try (bytes + [0]).withUnsafeBufferPointer { buffer in
            try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
        }
    }

    public static func < (a: FileName, b: FileName) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

#if canImport(Glibc)
import Glibc
#endif
