/// The result of re-reading a blob.
public enum BlobCheck: Equatable, Sendable {
    case intact
    case missing
    case corrupt(String)
    /// The store holding the blob did not answer (a bucket that is down or refuses the key): it
    /// says nothing of the bytes, so nothing is recorded and the blob is checked again later.
    case unavailable(String)
}
