/// Paths as bytes, for names that are not UTF-8 (`Path` works on text).
public enum PathBytes {
    private static let slash = UInt8(ascii: "/")

    public static func lastComponent(of path: [UInt8]) -> [UInt8] {
        var trimmed = path[...]
        if trimmed.count > 1, trimmed.last == slash { trimmed = trimmed.dropLast() }
        guard let index = trimmed.lastIndex(of: slash) else { return Array(trimmed) }
        return Array(trimmed[(index + 1)...])
    }

    public static func parent(of path: [UInt8]) -> [UInt8] {
        guard let index = path.lastIndex(of: slash) else { return Array(".".utf8) }
        if index == 0 { return [slash] }
        return Array(path[..<index])
    }

    public static func join(_ folder: [UInt8], _ relative: String) -> [UInt8] {
        if folder.isEmpty { return Array(relative.utf8) }
        return folder + (folder.last == slash ? [] : [slash]) + Array(relative.utf8)
    }

    /// The path as text for messages and names: `FileName.lossless` of its bytes.
    public static func text(_ path: [UInt8]) -> String { FileName(bytes: path).lossless }
}
