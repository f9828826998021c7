import Dispatch
import LakeModel
import Synchronization

/// Reading ahead across files. A reader that opens a tree's files one after another in the
/// order its listings show them, or its dataset's `manifest.jsonl` names them — a training
/// loader's epoch, `cp -r`, `tar`, `rsync` — pays each small file's cold start in series: the
/// blob's folder entry and inode, then its bytes, disk reads that the kernel's read-ahead (which
/// works inside one file) cannot start before the file is opened. Once files are opened in that
/// order, the next ones' blobs are opened and their first bytes asked of the disk (`fetch`) on
/// other threads while the reader reads: `initialWindow` files ahead once `filesBeforeFetching`
/// came in order, doubling with each further file read in order up to `maximumWindow`, as the
/// kernel grows its window inside a file. A file opened out of order starts nothing, so a
/// shuffled reader pays no more than before. A blob fetched twice (two readers, a later pass)
/// costs a lookup in the page cache the second time, so none is remembered: a later pass over
/// files the page cache has let go is read ahead again.
final class ReadAhead: Sendable {
    /// The files of one tree in reading order, as blobs.
    struct Order: Sendable {
        enum Key: Hashable, Sendable {
            case objects
            /// A case's or dataset's tree, and which of its orders.
            case tree(LakeID, Int)
        }

        let key: Key
        let count: Int
        /// The blob at a position, if that file is one (may read the catalog: called on a
        /// read-ahead thread).
        let blob: @Sendable (Int) -> (id: String, size: Int64)?
    }

    static let initialWindow = 4
    static let maximumWindow = 32
    /// How far past the last file a reader may skip and still be reading in order (a loader's
    /// workers do not open files exactly in turn; a member's blocks may sit between two files).
    static let slack = 8
    /// How far past a reader's file the next may be before fetching starts, and how many files
    /// must come in order so: allowed `slack` after two, a reader of 1,000 files in a shuffled
    /// order had 506 blobs read ahead by chance (16 readers followed, 8 places past each).
    static let firstStep = 2
    static let filesBeforeFetching = 3
    /// Files queued before a fetching thread is woken, once the window is full.
    static let wakeBatch = 8
    /// Readers followed at once (a loader's worker processes each read their own share).
    static let streams = 16
    /// Threads fetching at once: they wait on the disk (or a bucket), not on the cores (four
    /// and eight measured alike on a local disk; a bucket answers more requests at once).
    static let threads = 8
    /// Blobs larger than this are left to the kernel's read-ahead once opened: a bucket store
    /// fetches a whole blob to open it.
    static let largestBlob: Int64 = 64 << 20
    /// The bytes of each blob asked of the disk ahead (the kernel's read-ahead takes a larger
    /// file on from there once it is read).
    static let bytesPerFile: Int64 = 4 << 20

    private struct Stream {
        var key: Order.Key
        var position: Int
        /// The last position queued for fetching.
        var ahead: Int
        /// 0 until `filesBeforeFetching` files came in order.
        var window: Int
        /// Files that came in order after the first.
        var inOrder: Int
        var used: UInt64
    }

    private struct State {
        var streams: [Stream] = []
        var clock: UInt64 = 0
        var queue: [(order: Order, position: Int)] = []
        var head = 0
        var threads = 0
        var fetched = 0
        var everQueued = 0
    }

    private let state = Mutex(State())
    /// Brings a blob's folder entry, inode and first bytes into memory.
    private let fetch: @Sendable (_ id: String, _ size: Int64) -> Void

    init(fetch: @escaping @Sendable (_ id: String, _ size: Int64) -> Void) {
        self.fetch = fetch
    }

    /// Blobs fetched so far (the daemon's log at unmount, and the tests).
    var fetchedCount: Int { state.withLock { $0.fetched } }
    /// Files ever queued for fetching (the tests: what out-of-order opens never start).
    var queuedCount: Int { state.withLock { $0.everQueued } }
    /// No thread fetching (files may wait queued for a batch to fill: `wakeBatch`).
    var isIdle: Bool { state.withLock { $0.threads == 0 } }

    /// A file at `position` of `order` was opened for reading.
    func opened(_ order: Order, at position: Int) {
        let start = state.withLock { state -> Bool in
            state.clock += 1
            let clock = state.clock
            // The same file again, or one just behind (a loader's workers open files in turn and
            // do not arrive exactly in order): the same reader, nothing new to fetch.
            if let index = state.streams.firstIndex(where: {
                $0.key == order.key && position <= $0.position && position >= $0.position - Self.slack
            }) {
                state.streams[index].used = clock
                return false
            }
            guard let index = state.streams.firstIndex(where: {
                $0.key == order.key && position > $0.position
                    && position <= $0.position + ($0.window == 0 ? Self.firstStep : max(Self.slack, $0.window))
            }) else {
                let stream = Stream(key: order.key, position: position, ahead: position, window: 0, inOrder: 0, used: clock)
                if state.streams.count < Self.streams {
                    state.streams.append(stream)
                } else if let oldest = state.streams.indices.min(by: { state.streams[$0].used < state.streams[$1].used }) {
                    state.streams[oldest] = stream
                }
                return false
            }
            var stream = state.streams[index]
            stream.position = position
            stream.used = clock
            stream.inOrder += 1
            guard stream.inOrder >= Self.filesBeforeFetching - 1 else {
                state.streams[index] = stream
                return false
            }
            stream.window = stream.window == 0 ? Self.initialWindow : min(Self.maximumWindow, stream.window * 2)
            let last = min(order.count - 1, position + stream.window)
            if max(stream.ahead, position) < last {
                for next in max(stream.ahead, position) + 1...last { state.queue.append((order, next)) }
                state.everQueued += last - max(stream.ahead, position)
                stream.ahead = last
            }
            state.streams[index] = stream
            // A thread is woken for a batch of files, not for each: at the full window a reader
            // queues one file per open, and waking a thread for it cost the daemon more than the
            // fetch (perf of a loader reading warm 4 KiB files). Files are still fetched at least
            // `maximumWindow - wakeBatch` ahead; a growing window and the tree's end wake at once.
            let pending = state.queue.count - state.head
            guard pending > 0, state.threads < Self.threads,
                  pending >= Self.wakeBatch || stream.window < Self.maximumWindow || last == order.count - 1 else { return false }
            state.threads += 1
            return true
        }
        if start { DispatchQueue.global(qos: .utility).async { self.drain() } }
    }

    /// Fetches queued blobs until none is left.
    private func drain() {
        while let (order, position) = next() {
            guard let blob = order.blob(position), blob.size <= Self.largestBlob else { continue }
            fetch(blob.id, blob.size)
            state.withLock { $0.fetched += 1 }
        }
    }

    private func next() -> (Order, Int)? {
        state.withLock { state in
            guard state.head < state.queue.count else {
                state.queue.removeAll(keepingCapacity: true)
                state.head = 0
                state.threads -= 1
                return nil
            }
            let item = state.queue[state.head]
            state.head += 1
            // A reader that never lets the queue run dry (a long epoch) must not grow it.
            if state.head >= 1024, state.head * 2 >= state.queue.count {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            return item
        }
    }
}
