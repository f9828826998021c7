import Dispatch
import Synchronization

/// Blobs a read-ahead thread read whole and found intact (re-hashed against their names), for a
/// mount whose reads the daemon serves (read-only and dataset mounts: no opens, so no kernel
/// passthrough). The READs of such a file are answered with these very bytes, instead of reading
/// and hashing them while the reader waits: the check every read the daemon serves makes is the
/// same, done beside the reader. A blob's bytes go once a READ reaches their end.
///
/// At most `budget` bytes are held. The bytes held are the files a reader comes to next, so when
/// the budget is full a newer blob is not kept (its file is read and hashed the usual way when
/// its turn comes) rather than pushing out the ones nearer the reader; only bytes nobody read for
/// `staleAfterNanoseconds` (a reader that stopped, a file read only in part) give way to newer ones.
final class VerifiedBlobs: Sendable {
    /// A file the kernel asks for in one READ (its read-ahead window is 128 KiB). Files of up to
    /// 1 MiB were measured too (200 × 1 MiB, cold, `-o ro`): no faster than hashing their READs
    /// beside the reader (`SequentialHash`), for 32 MiB held.
    static let largestBlob: Int64 = 128 << 10
    /// The read-ahead's window of 32 such files for two readers.
    static let budget = 8 << 20
    static let staleAfterNanoseconds: UInt64 = 2_000_000_000

    private struct Held {
        var bytes: [UInt8]
        var since: UInt64
    }

    private struct State {
        var held: [String: Held] = [:]
        var order: [String] = []
        var head = 0
        var heldBytes = 0
        var given = 0
        var refused = 0
    }

    private let state = Mutex(State())
    /// Nanoseconds on a monotonic clock (the tests pass their own).
    private let now: @Sendable () -> UInt64

    init(now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.now = now
    }

    var heldBytes: Int { state.withLock { $0.heldBytes } }
    /// Files served from here to their end so far.
    var givenCount: Int { state.withLock { $0.given } }
    /// Blobs checked but not kept because the budget was full of fresher ones.
    var refusedCount: Int { state.withLock { $0.refused } }

    /// Whether a blob of `size` bytes would be kept now (asked before reading and hashing it, so
    /// a full budget costs no work); a no counts as a blob not kept.
    func admits(_ size: Int) -> Bool {
        let time = now()
        return state.withLock { state in
            if state.heldBytes + size <= Self.budget { return true }
            let oldest = state.order[state.head...].first { state.held[$0] != nil }
            if let oldest, let entry = state.held[oldest], time &- entry.since >= Self.staleAfterNanoseconds { return true }
            state.refused += 1
            return false
        }
    }

    func put(_ blob: String, _ bytes: [UInt8]) {
        let time = now()
        state.withLock { state in
            guard state.held[blob] == nil else { return }
            // Make room from the oldest, but only out of bytes left unread for a while.
            while state.heldBytes + bytes.count > Self.budget, state.head < state.order.count {
                let oldest = state.order[state.head]
                if let entry = state.held[oldest] {
                    guard time &- entry.since >= Self.staleAfterNanoseconds else { break }
                    state.held[oldest] = nil
                    state.heldBytes -= entry.bytes.count
                }
                state.head += 1
            }
            guard state.heldBytes + bytes.count <= Self.budget else {
                state.refused += 1
                return
            }
            state.held[blob] = Held(bytes: bytes, since: time)
            state.order.append(blob)
            state.heldBytes += bytes.count
            // The names of blobs already given out stay in `order` until passed: compact it.
            if state.order.count > 4 * max(64, state.held.count) {
                state.order = state.order[state.head...].filter { state.held[$0] != nil }
                state.head = 0
            }
        }
    }

    /// The verified bytes of a blob at `offset` (up to `count` of them); they are given out
    /// until a read reaches their end (a file read in one READ, or in several in turn).
    func bytes(_ blob: String, at offset: Int64, count: Int) -> [UInt8]? {
        state.withLock { state in
            guard let entry = state.held[blob], offset >= 0, offset <= Int64(entry.bytes.count) else { return nil }
            let bytes = entry.bytes
            let end = min(bytes.count, Int(offset) + count)
            if end == bytes.count {
                state.held[blob] = nil
                state.heldBytes -= bytes.count
                state.given += 1
            }
            return offset == 0 && end == bytes.count ? bytes : Array(bytes[Int(offset)..<end])
        }
    }
}
