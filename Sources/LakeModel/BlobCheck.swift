/// The result of re-reading a blob.
public enum BlobCheck: Equatable, Sendable {
    case intact
    case missing
    case corrupt(String)
}
