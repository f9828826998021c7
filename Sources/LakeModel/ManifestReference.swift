/// A manifest's (`.vtm`) file references: relative paths that must stay inside the manifest's folder.
public enum ManifestReference {
    /// Why a reference cannot be followed, or its normalised relative path.
    public enum Resolution: Equatable, Sendable {
        case inside(String)
        case rejected(String)
    }

    /// References must be relative and stay inside the manifest's folder; `..` that would leave
    /// it, absolute paths and empty references are rejected with a reason naming the reference.
    public static func resolve(_ reference: String) -> Resolution {
        guard !reference.isEmpty else { return .rejected("an empty file reference") }
        if reference.hasPrefix("/") || reference.hasPrefix("\\") || reference.contains(":") && reference.first?.isLetter == true
            && reference.dropFirst().first == ":" {
            return .rejected("reference '\(reference)' is an absolute path; a manifest may only reference files beside or below it")
        }
        var parts: [Substring] = []
        for part in reference.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                guard !parts.isEmpty else {
                    return .rejected("reference '\(reference)' escapes the manifest's folder with '..'")
                }
                parts.removeLast()
            default: parts.append(part)
            }
        }
        guard !parts.isEmpty else { return .rejected("reference '\(reference)' names no file") }
        return .inside(parts.joined(separator: "/"))
    }
}
