import LakeSystem
import Synchronization

/// Handles for reads that come without an OPEN, by inode. A read-only mount (or a mounted frozen
/// dataset) answers OPEN with ENOSYS (`LakeFileSystem.open`): the kernel then sends no OPEN,
/// FLUSH or RELEASE, keeps a file's pages between opens, and asks the daemon only for bytes it
/// has not cached, naming the inode. Each inode read so gets one handle, kept until the kernel
/// forgets the inode, the catalog changes it, or it is among the oldest of more than `capacity`
/// (its descriptor comes from `OpenFiles`, which shares and bounds them).
final class NodeHandles: Sendable {
    private struct State {
        var handles: [UInt64: UInt64] = [:]
        /// The nodes with handles, in the order the handles were made.
        var order = OldestFirst<UInt64>()
    }

    private let state = Mutex(State())
    let capacity: Int

    /// Each handle holds a blob's descriptor: 4,096, but no more than a quarter of what the
    /// process may hold (past its limit every open would fail, and be answered EIO).
    init(capacity: Int = OpenFiles.descriptorsKept(limit: Syscall.descriptorLimit())) {
        self.capacity = capacity
    }

    var count: Int { state.withLock { $0.handles.count } }
    /// Entries in the eviction order, live or stale (tests check it stays bounded).
    var entriesKept: Int { state.withLock { $0.order.entriesKept } }

    /// The node's handle, opened with `open` when it has none. `close` is given the handles that
    /// are no longer kept (one pushed out, or one opened twice by racing reads).
    func handle(for node: UInt64, open: () throws(FSError) -> UInt64, close: (UInt64) -> Void) throws(FSError) -> UInt64 {
        try handle(for: node, open: { () throws(FSError) in (try open(), true) }, close: close).handle
    }

    /// The same, where `open` also says whether its handle may be kept (false: the node's bytes
    /// may change); a handle not kept is the caller's to close after its read.
    func handle(for node: UInt64, open: () throws(FSError) -> (handle: UInt64, keep: Bool),
                close: (UInt64) -> Void) throws(FSError) -> (handle: UInt64, kept: Bool) {
        if let handle = state.withLock({ $0.handles[node] }) { return (handle, true) }
        let (opened, keep) = try open()
        guard keep else { return (opened, false) }
        let (kept, dropped) = state.withLock { state -> (UInt64, [UInt64]) in
            if let existing = state.handles[node] { return (existing, [opened]) }
            state.handles[node] = opened
            state.order.add(node)
            var dropped: [UInt64] = []
            while state.handles.count > capacity, let oldest = state.order.takeOldest() {
                if let handle = state.handles.removeValue(forKey: oldest) { dropped.append(handle) }
            }
            return (opened, dropped)
        }
        dropped.forEach(close)
        return (kept, true)
    }

    /// Stops keeping the handles `shouldGo` picks (it runs outside the lock, so reads are not held
    /// up); returns them, for the caller to close. A node given another handle meanwhile keeps it.
    func drop(where shouldGo: (UInt64) -> Bool) -> [UInt64] {
        let kept = state.withLock { Array($0.handles) }
        let going = kept.filter { shouldGo($0.value) }
        guard !going.isEmpty else { return [] }
        return state.withLock { state in
            going.compactMap { node, handle in
                guard state.handles[node] == handle else { return nil }
                state.handles.removeValue(forKey: node)
                state.order.remove(node)
                return handle
            }
        }
    }

    /// The kernel forgot `node`: its handle, if it had one, is no longer kept.
    func forget(_ node: UInt64) -> UInt64? {
        state.withLock { state in
            state.order.remove(node)
            return state.handles.removeValue(forKey: node)
        }
    }
}
