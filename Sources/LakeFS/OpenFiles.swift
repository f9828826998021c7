#if canImport(Glibc)
import Glibc
#endif
import LakeCore
import LakeSystem
import Synchronization

/// Open handles: what each one reads from. Blob descriptors are shared between handles of the
/// same blob and kept in a small cache after the last close, so repeated opens cost nothing
/// while the number of descriptors stays bounded (never one per inode).
public final class OpenFiles: Sendable {
    enum Source: Sendable {
        /// A stored blob, and the check of the bytes the daemon serves from it.
        case blob(ReadableFile, SequentialHash)
        case bytes([UInt8])
        case upload(IncomingFiles.Upload)
    }

    private struct State {
        var next: UInt64 = 1
        var handles: [UInt64: Source] = [:]
        var recent: [String: ReadableFile] = [:]
        /// The cached descriptors, least recently used first, and their files' sizes.
        var recentOrder = OldestFirst<String>()
        var recentBytes: Int64 = 0
        /// The views of objects with a file open, by seq, and how many handles hold each.
        var views: [Int64: (view: ObjectView, handles: Int)] = [:]
        var viewOf: [UInt64: Int64] = [:]
    }

    private let state = Mutex(State())
    /// Blob descriptors kept after their last close. Enough to hold a loader's files between
    /// the read-ahead opening them and the reader opening them, and the inodes the kernel keeps
    /// passthrough backings for, so a warm open costs an `fstat` rather than a path walk and an
    /// open; at most a quarter of the descriptors the process may hold.
    let descriptorsKept: Int

    init(descriptorsKept: Int = OpenFiles.descriptorsKept(limit: Syscall.descriptorLimit())) {
        self.descriptorsKept = descriptorsKept
    }

    /// How many descriptors a cache of this mount may keep for itself: 4,096, but at most a
    /// quarter of `limit` (the kernel's passthrough backings are bounded the same way).
    public static func descriptorsKept(limit: Int) -> Int { min(4096, max(64, limit / 4)) }

    /// The bytes of the files kept open. A bucket store's node cache cannot free a file someone
    /// holds open, so thousands of large blobs kept here could fill its disk; a loader's small
    /// files fit many times over.
    static let bytesKept: Int64 = 1 << 30

    /// A new handle; `view` is the object it opened a file of, kept while the handle is open.
    func add(_ source: Source, keeping view: ObjectView? = nil) -> UInt64 {
        state.withLock { state in
            let handle = state.next
            state.next += 1
            state.handles[handle] = source
            if let view {
                state.views[view.seq, default: (view, 0)].handles += 1
                state.viewOf[handle] = view.seq
            }
            return handle
        }
    }

    func get(_ handle: UInt64) -> Source? { state.withLock { $0.handles[handle] } }

    @discardableResult
    func remove(_ handle: UInt64) -> Source? {
        state.withLock { state in
            if let seq = state.viewOf.removeValue(forKey: handle), let kept = state.views[seq] {
                state.views[seq] = kept.handles > 1 ? (kept.view, kept.handles - 1) : nil
            }
            return state.handles.removeValue(forKey: handle)
        }
    }

    /// The view of an object one of whose files is open (`fstat` of a file whose object has
    /// left the lake since it was opened still answers).
    func openView(_ seq: Int64) -> ObjectView? { state.withLock { $0.views[seq]?.view } }

    /// A handle's source for blob `id` of `size` bytes. A kept descriptor whose file is still
    /// the blob's and still `size` long answers with one `fstat`; otherwise `check` (the blob
    /// guard: a file gone or resized is recorded as damage) runs and the blob is opened.
    func blobSource(_ id: String, size: Int64, check: () throws(FSError) -> Void,
                    open: () throws -> ReadableFile) throws(FSError) -> Source {
        if let kept = keptBlob(id) {
            if kept.size == size { return .blob(kept.file, SequentialHash(blob: id, size: size)) }
            drop(id, kept.file)
        }
        try check()
        do {
            let file = keep(id, try open())
            return .blob(file, SequentialHash(blob: id, size: file.size))
        } catch {
            throw FSError.from(error)
        }
    }

    /// A descriptor for a blob, from the cache or newly opened.
    func blob(_ id: String, open: () throws -> ReadableFile) throws -> ReadableFile {
        if let kept = keptBlob(id) { return kept.file }
        return keep(id, try open())
    }

    /// Keeps a newly opened blob file (unless another thread kept one first), dropping the least
    /// recently used past the bounds; returns it.
    private func keep(_ id: String, _ file: ReadableFile) -> ReadableFile {
        state.withLock { state in
            guard state.recent[id] == nil else { return }
            state.recent[id] = file
            state.recentBytes += file.size
            state.recentOrder.add(id)
            while state.recentOrder.count > 1, state.recentOrder.count > descriptorsKept || state.recentBytes > Self.bytesKept,
                  let oldest = state.recentOrder.takeOldest() {
                if let gone = state.recent.removeValue(forKey: oldest) { state.recentBytes -= gone.size }
            }
        }
        return file
    }

    /// A cached descriptor for a blob and its file's size now, made the newest kept. One whose
    /// file has been removed since is not handed out again: a bucket store drops a damaged cached
    /// copy so that the next open fetches the blob again, and the old descriptor would still read
    /// the damaged bytes.
    private func keptBlob(_ id: String) -> (file: ReadableFile, size: Int64)? {
        guard let cached = state.withLock({ $0.recent[id] }) else { return nil }
        var info = stat()
        guard fstat(cached.descriptor, &info) == 0, info.st_nlink > 0 else {
            drop(id, cached)
            return nil
        }
        state.withLock { state in if state.recent[id] === cached { state.recentOrder.add(id) } }
        return (cached, Int64(info.st_size))
    }

    /// Forgets a kept descriptor that must not be handed out again (if it is still the one kept).
    private func drop(_ id: String, _ file: ReadableFile) {
        state.withLock { state in
            guard state.recent[id] === file else { return }
            state.recent.removeValue(forKey: id)
            state.recentBytes -= file.size
            state.recentOrder.remove(id)
        }
    }

    /// Forgets the descriptor kept for blob `id`: its copy was found damaged and dropped. The
    /// removed file's link count cannot tell, for a blob uploaded on this node the upload's
    /// spool file is a second link until the upload is released, and the next open would be
    /// handed the damaged copy again (as a passthrough backing file, read unchecked).
    func forgetKept(_ id: String) {
        if let kept = state.withLock({ $0.recent[id] }) { drop(id, kept) }
    }

    /// Lets go of kept descriptors whose files have been removed since (`lake gc`, a node cache
    /// making room): a descriptor held open keeps a removed file's space in use, and a daemon
    /// that no one asks for those blobs again would keep it for good. Returns how many went.
    /// The files are checked outside the lock, so opens are not held up by the sweep.
    @discardableResult
    func releaseRemoved() -> Int {
        let kept = state.withLock { Array($0.recent) }
        var released = 0
        for (id, file) in kept where Syscall.isUnlinked(file.descriptor) {
            drop(id, file)
            released += 1
        }
        return released
    }

    /// Whether `handle` reads a blob file that has been removed since it was opened.
    func readsRemovedFile(_ handle: UInt64) -> Bool {
        guard case .blob(let file, _)? = get(handle) else { return false }
        return Syscall.isUnlinked(file.descriptor)
    }

    /// Blob descriptors cached (tests).
    var descriptorsCached: Int { state.withLock { $0.recent.count } }
}
