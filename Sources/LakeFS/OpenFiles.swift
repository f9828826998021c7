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
        var order: [String] = []
        /// The views of objects with a file open, by seq, and how many handles hold each.
        var views: [Int64: (view: ObjectView, handles: Int)] = [:]
        var viewOf: [UInt64: Int64] = [:]
    }

    private let state = Mutex(State())
    static let cachedDescriptors = 256

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

    /// A handle's source for a blob: a descriptor from the cache or newly opened, and a check of
    /// its own.
    func blobSource(_ id: String, open: () throws -> ReadableFile) throws -> Source {
        let file = try blob(id, open: open)
        return .blob(file, SequentialHash(blob: id, size: file.size))
    }

    /// A descriptor for a blob, from the cache or newly opened. A cached descriptor whose file
    /// has been removed since is not handed out again: a bucket store drops a damaged cached copy
    /// so that the next open fetches the blob again, and the old descriptor would still read the
    /// damaged bytes (one `fstat` per open).
    func blob(_ id: String, open: () throws -> ReadableFile) throws -> ReadableFile {
        if let cached = state.withLock({ $0.recent[id] }) {
            var info = stat()
            if fstat(cached.descriptor, &info) == 0, info.st_nlink > 0 { return cached }
            state.withLock { state in
                if state.recent[id] === cached {
                    state.recent.removeValue(forKey: id)
                    state.order.removeAll { $0 == id }
                }
            }
        }
        let file = try open()
        state.withLock { state in
            if state.recent[id] == nil {
                state.recent[id] = file
                state.order.append(id)
                if state.order.count > Self.cachedDescriptors {
                    state.recent.removeValue(forKey: state.order.removeFirst())
                }
            }
        }
        return file
    }
}
