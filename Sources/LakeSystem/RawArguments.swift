#if canImport(Glibc)
import Glibc
#endif

/// This process's arguments as the bytes it was given. `CommandLine.arguments` decodes them as
/// UTF-8 and repairs what is not (each bad sequence becomes U+FFFD), so a file name of other
/// bytes (ISO 8859-1 names from an older system) cannot be opened from it.
public enum RawArguments {
    public static var all: [[UInt8]] {
        (0..<Int(CommandLine.argc)).compactMap { index in
            CommandLine.unsafeArgv[index].map { Array(UnsafeBufferPointer(start: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self), count: strlen($0))) }
        }
    }

    /// The bytes of the argument that `text` was decoded from, when they are not UTF-8 (nil for
    /// text that is its own bytes). Nil too when arguments of different bytes decode to the same
    /// `text`: which of them was meant cannot be told, and a wrong guess would read another file.
    public static func undecodedBytes(of text: String, among arguments: [[UInt8]] = all) -> [UInt8]? {
        guard text.unicodeScalars.contains("\u{FFFD}") else { return nil }
        // Compared as bytes: strings compare by canonical equivalence (NFC equals NFD).
        let textBytes = Array(text.utf8)
        let candidates = Set(arguments.filter { Array(String(decoding: $0, as: UTF8.self).utf8) == textBytes })
        guard candidates.count == 1, let bytes = candidates.first, String(validating: bytes, as: UTF8.self) == nil else { return nil }
        return bytes
    }
}
