#if canImport(Glibc)
import Glibc
#endif

/// This process's arguments as the bytes it was given. `CommandLine.arguments` decodes them as
/// UTF-8 and repairs what is not (each bad sequence becomes U+FFFD), so a file name of other
/// bytes (ISO 8859-1 names from an older system) cannot be opened from it.
public enum RawArguments {
    public static var all: [[UInt8]] {
        (0..<Int(CommandLine.argc)).compactMap { index in
            CommandLine.unsafeArgv[index].map { FileName(cString: $0).bytes }
        }
    }

    /// The arguments that are not UTF-8, by the text they decode to (as bytes: strings compare
    /// by canonical equivalence, and NFC is not NFD), made once: `lake upload` of 20,000 such
    /// names looks each up.
    public struct Index: Sendable {
        private var byText: [[UInt8]: Set<[UInt8]>] = [:]

        public init(_ arguments: [[UInt8]]) {
            // With the arguments that hold U+FFFD themselves: one of those and one that decodes
            // to it are two files that cannot be told apart.
            let replacement = Array("\u{FFFD}".utf8)
            for bytes in arguments {
                let text = Array(String(decoding: bytes, as: UTF8.self).utf8)
                if text != bytes || bytes.firstRange(of: replacement) != nil { byText[text, default: []].insert(bytes) }
            }
        }

        /// The bytes of the argument that `text` was decoded from, when they are not UTF-8 (nil
        /// for text that is its own bytes). Nil too when arguments of different bytes decode to
        /// the same `text`: which of them was meant cannot be told, and a wrong guess would read
        /// another file.
        public func undecodedBytes(of text: String) -> [UInt8]? {
            guard text.unicodeScalars.contains("\u{FFFD}"), let candidates = byText[Array(text.utf8)], candidates.count == 1,
                  let bytes = candidates.first, String(validating: bytes, as: UTF8.self) == nil else { return nil }
            return bytes
        }
    }

    /// This process's.
    public static let index = Index(all)
}
