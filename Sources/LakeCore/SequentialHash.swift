import Crypto
import Dispatch
import LakeBlobStore
import Synchronization

/// Re-hashes a blob from the bytes a reader reads, for as long as it reads them in order from
/// the start, so a reader served by the daemon finds damage in the bytes it was given: the read
/// that reaches the end learns whether they were the blob's. A read out of order ends the check
/// for that reader (it proves nothing either way).
///
/// Each piece is hashed on a thread of its own while the reader's next read goes to the disk:
/// hashing in line added SHA-256's time (0.7 ms per MiB) to every cold read's. The read that
/// reaches the end waits for the pieces before it; a reader that outruns the hashing (pages
/// already in memory) waits once `backlogLimit` bytes are queued, so memory stays bounded.
public final class SequentialHash: Sendable {
    public let blob: String
    public let size: Int64
    /// Where the next in-order piece starts, whether the check still runs, and the queue that
    /// hashes pieces in order — made at the first piece that is not the last: every open of a
    /// stored file makes a check, and most are read by passthrough or in one piece.
    private let order: Mutex<(next: Int64, running: Bool, queued: Int, hashing: DispatchQueue?)>
    /// Touched by one piece's hashing at a time (the lock is never contended).
    private let sha = Mutex<SHA256>(SHA256())
    /// Room for the two 128 KiB READs the kernel keeps in flight and more; memory stays at 1 MiB
    /// per reader however many read at once.
    static let backlogLimit = 1 << 20

    public enum Outcome: Equatable, Sendable {
        /// Not known (yet, or any more).
        case unknown
        case intact
        case corrupt(actual: String)
    }

    public init(blob: String, size: Int64) {
        self.blob = blob
        self.size = size
        order = Mutex((0, true, 0, nil))
    }

    /// Bytes taken and not yet hashed.
    var queuedBytes: Int { order.withLock { $0.queued } }

    /// Whether a read at `offset` would continue the check.
    public func wants(_ offset: Int64) -> Bool {
        order.withLock { $0.running && $0.next == offset }
    }

    /// Takes the bytes read at `offset`; at the end of the blob, says whether they were its own.
    public func feed(_ bytes: [UInt8], at offset: Int64) -> Outcome {
        let step: (last: Bool, wait: Bool, hashing: DispatchQueue?)? = order.withLock { order in
            guard order.running, order.next == offset else {
                order.running = false
                return nil
            }
            order.next += Int64(bytes.count)
            if order.next >= size {
                // The last piece: no piece can follow it, so it is hashed below, on this thread.
                order.running = false
                return (true, false, order.hashing)
            }
            order.queued += bytes.count
            let hashing = order.hashing ?? DispatchQueue(label: "lake.sequential-hash")
            order.hashing = hashing
            // Queued while this piece holds its place in line: queued after letting go, the next
            // piece (fed from another thread the moment this one was taken) could go first.
            hashing.async { [self] in
                sha.withLock { sha in bytes.withUnsafeBytes { sha.update(bufferPointer: $0) } }
                self.order.withLock { $0.queued -= bytes.count }
            }
            return (false, order.queued > Self.backlogLimit, hashing)
        }
        guard let step else { return .unknown }
        guard step.last else {
            if step.wait { step.hashing?.sync {} }
            return .unknown
        }
        // After the pieces queued before it (a synchronous block runs on the caller's thread); a
        // file read in one piece has no queue at all.
        let finish = {
            LakeBlobStore.Digest.hex(self.sha.withLock { sha in
                bytes.withUnsafeBytes { sha.update(bufferPointer: $0) }
                return sha.finalize()
            })
        }
        let actual = step.hashing.map { $0.sync(execute: finish) } ?? finish()
        return actual == blob ? .intact : .corrupt(actual: actual)
    }
}
