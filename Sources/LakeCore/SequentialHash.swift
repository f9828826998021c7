import Crypto
import Dispatch
import LakeBlobStore
import Synchronization

/// Re-hashes a blob from the bytes a reader reads, for as long as it reads them in order from
/// the start, so a reader served by the daemon finds damage in the bytes it was given: the read
/// that reaches the end learns whether they were the blob's.
///
/// "In order" is as the daemon's threads see it, and the kernel's readahead sends a file's READs
/// two or more at once, which its threads take in either order: a read that arrives a few reads
/// ahead of the check (`wants`) has the caller read the bytes between (`gap(before:)`) and feed
/// them first, and the read behind it, arriving after, finds its bytes hashed already.
/// Reads further ahead, or behind, are not part of the check (a reader jumping about proves
/// nothing either way); one that comes back to where the check stands continues it.
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
    private let order: Mutex<(next: Int64, running: Bool, queued: Int, hashing: DispatchQueue?, verdict: Outcome)>
    /// Touched by one piece's hashing at a time (the lock is never contended).
    private let sha = Mutex<SHA256>(SHA256())
    /// Room for the two 128 KiB READs the kernel keeps in flight and more; memory stays at 1 MiB
    /// per reader however many read at once.
    static let backlogLimit = 1 << 20
    /// How far ahead of the check a read may arrive and still take part: the kernel keeps a
    /// few READs in flight for one reader (256 KiB each in `fuse:fuse_request_send` traces of
    /// `cat` here, two at a time).
    public static let largestGap: Int64 = 2 << 20
    static let gapsPerRead = 4

    public enum Outcome: Equatable, Sendable {
        /// Not known (yet, or any more).
        case unknown
        case intact
        case corrupt(actual: String)
    }

    public init(blob: String, size: Int64) {
        self.blob = blob
        self.size = size
        order = Mutex((0, true, 0, nil, .unknown))
    }

    /// Bytes taken and not yet hashed.
    var queuedBytes: Int { order.withLock { $0.queued } }
    /// Where the next piece in order starts.
    var hashedUpTo: Int64 { order.withLock { $0.next } }

    /// Whether a read of `count` bytes at `offset` takes part in the check: it continues it, or
    /// runs ahead of it as a READ of the kernel's readahead overtakes the one or two before it
    /// (by at most `gapsPerRead` reads of its size, and `largestGap`), or the check found damage
    /// (every later read learns it). A small read far ahead (a reader skipping to a footer) is
    /// not: filling its gap would read what the reader skips. The check then waits for the
    /// reader to come back to where it stands.
    public func wants(_ offset: Int64, count: Int) -> Bool {
        order.withLock { order in
            if case .corrupt = order.verdict { return true }
            let gap = offset - order.next
            return order.running && gap >= 0 && gap <= min(Self.largestGap, Int64(Self.gapsPerRead * count))
        }
    }

    /// The bytes not hashed yet before a read at `offset` that ran ahead of the check: the
    /// caller reads and feeds them before that read's own.
    public func gap(before offset: Int64) -> Range<Int64>? {
        order.withLock { $0.running && offset > $0.next ? $0.next..<offset : nil }
    }

    /// Takes the bytes read at `offset`; at the end of the blob, says whether they were its own.
    /// Bytes hashed already (a read that arrived after the one ahead of it) are passed over.
    public func feed(_ bytes: [UInt8], at offset: Int64) -> Outcome {
        let step: (piece: [UInt8], last: Bool, wait: Bool, hashing: DispatchQueue?)? = order.withLock { order in
            guard order.running, offset + Int64(bytes.count) > order.next else { return nil }
            guard offset <= order.next else {
                // Ahead without its gap filled: the check cannot go on.
                order.running = false
                return nil
            }
            let piece = offset < order.next ? Array(bytes[Int(order.next - offset)...]) : bytes
            order.next += Int64(piece.count)
            if order.next >= size {
                // The last piece: no piece can follow it, so it is hashed below, on this thread.
                order.running = false
                return (piece, true, false, order.hashing)
            }
            order.queued += piece.count
            let hashing = order.hashing ?? DispatchQueue(label: "lake.sequential-hash")
            order.hashing = hashing
            // Queued while this piece holds its place in line: queued after letting go, the next
            // piece (fed from another thread the moment this one was taken) could go first.
            hashing.async { [self] in
                sha.withLock { sha in piece.withUnsafeBytes { sha.update(bufferPointer: $0) } }
                self.order.withLock { $0.queued -= piece.count }
            }
            return (piece, false, order.queued > Self.backlogLimit, hashing)
        }
        guard let step else { return order.withLock { $0.verdict } }
        guard step.last else {
            if step.wait { step.hashing?.sync {} }
            return .unknown
        }
        // After the pieces queued before it (a synchronous block runs on the caller's thread); a
        // file read in one piece has no queue at all.
        let finish = {
            LakeBlobStore.Digest.hex(self.sha.withLock { sha in
                step.piece.withUnsafeBytes { sha.update(bufferPointer: $0) }
                return sha.finalize()
            })
        }
        let actual = step.hashing.map { $0.sync(execute: finish) } ?? finish()
        let verdict: Outcome = actual == blob ? .intact : .corrupt(actual: actual)
        order.withLock { $0.verdict = verdict }
        return verdict
    }
}
