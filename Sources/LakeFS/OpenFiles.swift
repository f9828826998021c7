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

    private let state = Mutex<(next: UInt64, handles: [UInt64: Source], recent: [String: ReadableFile], order: [String])>((1, [:], [:], []))
    static let cachedDescriptors = 256

    func add(_ source: Source) -> UInt64 {
        state.withLock { state in
            let handle = state.next
            state.next += 1
            state.handles[handle] = source
            return handle
        }
    }

    func get(_ handle: UInt64) -> Source? { state.withLock { $0.handles[handle] } }

    @discardableResult
    func remove(_ handle: UInt64) -> Source? { state.withLock { $0.handles.removeValue(forKey: handle) } }

    /// A handle's source for a blob: a descriptor from the cache or newly opened, and a check of
    /// its own.
    func blobSource(_ id: String, open: () throws -> ReadableFile) throws -> Source {
        let file = try blob(id, open: open)
        return .blob(file, SequentialHash(blob: id, size: file.size))
    }

    /// A descriptor for a blob, from the cache or newly opened.
    func blob(_ id: String, open: () throws -> ReadableFile) throws -> ReadableFile {
        if let cached = state.withLock({ $0.recent[id] }) { return cached }
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
