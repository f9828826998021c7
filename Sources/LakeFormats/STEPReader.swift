import LakeModel
import LakeSystem

/// STEP (ISO 10303-21) files stay opaque: only the header is checked, so that a file called
/// `.step` really is one.
public enum STEPReader {
    static let magic = Array("ISO-10303-21;".utf8)

    public static func geometry(of file: ReadableFile, units: String?) throws -> Geometry {
        var head = try file.bytes(at: 0, count: 256)
        if head.starts(with: [0xEF, 0xBB, 0xBF]) { head.removeFirst(3) }
        let start = head.firstIndex { !($0 == 32 || $0 == 9 || $0 == 10 || $0 == 13) } ?? head.endIndex
        guard head[start...].starts(with: magic) else {
            let found = String(decoding: head[start..<min(head.endIndex, start + 20)], as: UTF8.self)
                .map { $0.isASCII && !$0.isNewline && ($0.asciiValue ?? 0) >= 32 ? $0 : "." }
            throw FormatError("not a STEP file: a STEP file starts with 'ISO-10303-21;' but this one starts with '\(String(found))'")
        }
        return Geometry(units: units)
    }
}
