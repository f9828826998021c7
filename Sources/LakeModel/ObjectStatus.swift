/// The object lifecycle: `PENDING_UPLOAD → UPLOADED → PROCESSING → READY | FAILED`.
public enum ObjectStatus: String, Codable, Sendable, CaseIterable {
    case pendingUpload = "PENDING_UPLOAD"
    case uploaded = "UPLOADED"
    case processing = "PROCESSING"
    case ready = "READY"
    case failed = "FAILED"

    public var isTerminal: Bool { self == .ready || self == .failed }
}
