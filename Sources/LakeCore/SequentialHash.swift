import Crypto
import LakeBlobStore
import Synchronization

/// Re-hashes a blob from the bytes a reader reads, for as long as it reads them in order from
/// the start, so a reader served by the daemon finds damage in the bytes it was given: the read
/// that reaches the end learns whether they were the blob's. A read out of order ends the check
/// for that reader (it proves nothing either way).
public final class SequentialHash: Sendable {
    public let blob: String
    public let size: Int64
    private let state: Mutex<(next: Int64, sha: SHA256?)>

    public enum Outcome: Equatable, Sendable {
        /// Not known (yet, or any more).
        case unknown
        case intact
        case corrupt(actual: String)
    }

    public init(blob: String, size: Int64) {
        self.blob = blob
        self.size = size
        state = Mutex((0, SHA256()))
    }

    /// Whether a read at `offset` would continue the check.
    public func wants(_ offset: Int64) -> Bool {
        state.withLock { $0.sha != nil && $0.next == offset }
    }

    /// Takes the bytes read at `offset`; at the end of the blob, says whether they were its own.
    public func feed(_ bytes: UnsafeRawBufferPointer, at offset: Int64) -> Outcome {
        state.withLock { state in
            guard var sha = state.sha, state.next == offset else {
                state.sha = nil
                return .unknown
            }
            sha.update(bufferPointer: bytes)
            state.next += Int64(bytes.count)
            guard state.next >= size else {
                state.sha = sha
                return .unknown
            }
            state.sha = nil
            let actual = LakeBlobStore.Digest.hex(sha.finalize())
            return actual == blob ? .intact : .corrupt(actual: actual)
        }
    }
}
