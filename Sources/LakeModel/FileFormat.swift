/// What a file is, inferred from its extension. Names are the lower-case format names of the
/// Luminary data lake (`list_formats()`); `unknown` is the fallback that is stored and served
/// with nothing derived.
public enum FileFormat: String, Codable, Sendable, CaseIterable {
    case vtp, vtu, vtm, stl, step, unknown

    public init(inferredFrom fileName: String) {
        let lower = fileName.lowercased()
        guard let dot = lower.lastIndex(of: "."), dot != lower.startIndex else {
            self = .unknown
            return
        }
        switch lower[lower.index(after: dot)...] {
        case "vtp": self = .vtp
        case "vtu": self = .vtu
        case "vtm": self = .vtm
        case "stl": self = .stl
        case "step", "stp": self = .step
        default: self = .unknown
        }
    }

    public init(parsing text: String) throws(InputError) {
        guard let format = FileFormat(rawValue: text.lowercased()) else {
            throw InputError("unknown format '\(text)'; valid formats: \(FileFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self = format
    }

    public var extensions: [String] {
        switch self {
        case .step: ["step", "stp"]
        case .unknown: []
        default: [rawValue]
        }
    }

    public var isVTK: Bool { self == .vtp || self == .vtu || self == .vtm }
    public var isGeometry: Bool { self == .stl || self == .step }
}
