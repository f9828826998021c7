import Synchronization

/// Small blobs a read-ahead thread read whole and found intact (re-hashed against their names),
/// for a mount whose reads the daemon serves (read-only and dataset mounts: no opens, so no
/// kernel passthrough). The READs of such a file are answered with these very bytes, instead of
/// reading and hashing them while the reader waits: the check every read the daemon serves
/// makes is the same, done beside the reader. A blob's bytes go once a READ reaches their end,
/// and at most `budget` bytes are held (the oldest go first).
final class VerifiedBlobs: Sendable {
    /// A file the kernel asks for in one READ (its read-ahead window is 128 KiB).
    static let largestBlob: Int64 = 128 << 10
    static let budget = 8 << 20

    private struct State {
        var bytes: [String: [UInt8]] = [:]
        var order: [String] = []
        var head = 0
        var held = 0
        var given = 0
    }

    private let state = Mutex(State())

    var heldBytes: Int { state.withLock { $0.held } }
    /// Files served from here to their end so far.
    var givenCount: Int { state.withLock { $0.given } }

    func put(_ blob: String, _ bytes: [UInt8]) {
        state.withLock { state in
            guard state.bytes[blob] == nil else { return }
            state.bytes[blob] = bytes
            state.order.append(blob)
            state.held += bytes.count
            while state.held > Self.budget, state.head < state.order.count {
                let oldest = state.order[state.head]
                state.head += 1
                if let dropped = state.bytes.removeValue(forKey: oldest) { state.held -= dropped.count }
            }
            if state.head > 1024, state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    /// The verified bytes of a blob at `offset` (up to `count` of them); they are given out
    /// until a read reaches their end (a file read in one READ, or in several in turn).
    func bytes(_ blob: String, at offset: Int64, count: Int) -> [UInt8]? {
        state.withLock { state in
            guard let bytes = state.bytes[blob], offset >= 0, offset <= Int64(bytes.count) else { return nil }
            let end = min(bytes.count, Int(offset) + count)
            if end == bytes.count {
                state.bytes[blob] = nil
                state.held -= bytes.count
                state.given += 1
            }
            return offset == 0 && end == bytes.count ? bytes : Array(bytes[Int(offset)..<end])
        }
    }
}
