import CFuseRing
import Glibc
import LakeFS
import LakeSystem
import Logging
import Synchronization

/// Kernel passthrough for stored files: the kernel reads them from the blob itself, so their
/// reads never reach the daemon and share the blob's page cache. Each inode read this way has
/// one backing id, shared by all its open handles (the kernel refuses a second backing file for
/// an inode that is open). An inode's backing stays registered after its last handle is
/// released — reading many small files opens each again and again, and registering costs two
/// `ioctl`s and a descriptor per open — until the kernel forgets the inode, its blob changes, or
/// it is among the oldest of more than `idleLimit` unused ones (kept oldest first by last close),
/// or its blob file is removed (`releaseRemoved`: the kernel's hold on a removed file keeps its
/// space in use).
final class PassthroughFiles: Sendable {
    private struct Backing {
        var id: Int32
        var handles: Int
        /// The blob file registered (device, inode), so a node that now names another blob is
        /// never given the old one.
        var file: (dev: UInt64, ino: UInt64)
        /// The daemon's own descriptor of that file, to see whether it has been removed (the
        /// kernel's reference cannot be asked); -1 when none could be had, and then the backing
        /// is not kept once unused.
        var descriptor: Int32
    }

    private struct State {
        var backings: [UInt64: Backing] = [:]
        var nodeOfHandle: [UInt64: UInt64] = [:]
        /// Nodes whose backing no handle uses, oldest first.
        var idle = OldestFirst<UInt64>()
        /// Why the kernel refused a backing file; from then on only inodes that already have
        /// one use passthrough, so no inode is ever open both ways.
        var refusal: Int32?
        var opens = 0
        var registrations = 0
    }

    /// The kernel's side: whether FUSE_INIT switched passthrough on, and registering a backing
    /// file (its id, or minus the errno) and giving it back. Tests count instead: registering
    /// needs a mounted connection.
    struct Kernel: Sendable {
        var enabled: @Sendable () -> Bool
        var register: @Sendable (Int32) -> Int32
        var unregister: @Sendable (Int32) -> Void

        static let fuse = Kernel(enabled: { lake_passthrough_enabled() != 0 },
                                 register: { lake_passthrough_register($0) },
                                 unregister: { lake_passthrough_unregister($0) })
    }

    /// Unused backings kept (`-o passthrough_kept=N`; set before the mount serves requests).
    var idleLimit: Int {
        get { limit.load(ordering: .relaxed) }
        set { limit.store(newValue, ordering: .relaxed) }
    }
    private let limit: Atomic<Int>
    private let kernel: Kernel
    private let state = Mutex(State())
    private let logger: Logger

    /// By default as many unused backings as `OpenFiles` keeps descriptors: each keeps one too.
    init(logger: Logger, kernel: Kernel = .fuse, idleLimit: Int = OpenFiles.descriptorsKept(limit: Syscall.descriptorLimit())) {
        self.logger = logger
        self.kernel = kernel
        limit = Atomic(idleLimit)
    }

    /// Whether FUSE_INIT switched passthrough on for this mount.
    var enabled: Bool { kernel.enabled() }

    /// Backings kept while no handle uses them, and the entries their eviction order holds
    /// (tests check both stay bounded).
    var idle: (backings: Int, entriesKept: Int) { state.withLock { ($0.idle.count, $0.idle.entriesKept) } }

    /// Opens served by passthrough so far.
    var opens: Int { state.withLock { $0.opens } }

    /// Backing files registered so far (fewer than `opens` when inodes are opened again).
    var registrations: Int { state.withLock { $0.registrations } }

    /// The backing id for a new open `handle` of `node`, registering `descriptor` when the inode
    /// has none (or had another blob); nil when passthrough is off or the kernel refused (the
    /// daemon then serves the reads).
    func acquire(node: UInt64, handle: UInt64, descriptor: Int32) -> Int32? {
        guard enabled else { return nil }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        let file = (dev: UInt64(info.st_dev), ino: UInt64(info.st_ino))
        let (id, refused): (Int32?, Int32?) = state.withLock { state in
            if let existing = state.backings[node], existing.handles == 0,
               existing.file.dev != file.dev || existing.file.ino != file.ino {
                state.backings.removeValue(forKey: node)
                state.idle.remove(node)
                drop(existing)
            }
            if state.backings[node] == nil {
                guard state.refusal == nil else { return (nil, nil) }
                let id = kernel.register(descriptor)
                guard id > 0 else {
                    state.refusal = -id
                    return (nil, -id)
                }
                state.backings[node] = Backing(id: id, handles: 0, file: file, descriptor: fcntl(descriptor, F_DUPFD_CLOEXEC, 0))
                state.registrations += 1
            }
            return (Self.join(&state, node: node, handle: handle), nil)
        }
        if let refused {
            logger.warning("the kernel refused a passthrough backing file (\(String(cString: strerror(refused)))); the daemon serves reads of files opened from now on")
        }
        return id
    }

    /// Counts `handle` as a user of `node`'s backing id, if it has one.
    private static func join(_ state: inout State, node: UInt64, handle: UInt64) -> Int32? {
        guard var backing = state.backings[node] else { return nil }
        if backing.handles == 0 { state.idle.remove(node) }
        backing.handles += 1
        state.backings[node] = backing
        state.nodeOfHandle[handle] = node
        state.opens += 1
        return backing.id
    }

    /// The last close of `handle`: its inode's backing is kept for the next open, within bounds.
    func release(_ handle: UInt64) {
        state.withLock { state in
            guard let node = state.nodeOfHandle.removeValue(forKey: handle), var backing = state.backings[node] else { return }
            backing.handles -= 1
            state.backings[node] = backing
            guard backing.handles == 0 else { return }
            guard backing.descriptor >= 0 else {
                state.backings.removeValue(forKey: node)
                drop(backing)
                return
            }
            state.idle.add(node)
            while state.idle.count > idleLimit, let oldest = state.idle.takeOldest() {
                guard let evicted = state.backings.removeValue(forKey: oldest) else { continue }
                drop(evicted)
            }
        }
    }

    /// The kernel dropped the inode: its backing, if unused, goes.
    func forget(_ node: UInt64) {
        state.withLock { state in
            guard let backing = state.backings[node], backing.handles == 0 else { return }
            state.backings.removeValue(forKey: node)
            state.idle.remove(node)
            drop(backing)
        }
    }

    /// Gives back the unused backings whose blob files have been removed since they were
    /// registered (`lake gc`, a node cache making room), so their space is freed; a backing in
    /// use goes once its last handle is released and a later sweep finds it. The files are
    /// checked outside the lock. Returns how many went.
    @discardableResult
    func releaseRemoved() -> Int {
        let unused = state.withLock { state in
            state.backings.compactMap { node, backing in backing.handles == 0 ? (node, backing.id, backing.descriptor) : nil }
        }
        let removed = unused.filter { Syscall.isUnlinked($0.2) }.map { (node: $0.0, id: $0.1) }
        guard !removed.isEmpty else { return 0 }
        return state.withLock { state in
            var released = 0
            for (node, id) in removed {
                // Still the same backing, and still unused: an open may have taken it meanwhile.
                guard let backing = state.backings[node], backing.id == id, backing.handles == 0 else { continue }
                state.backings.removeValue(forKey: node)
                state.idle.remove(node)
                drop(backing)
                released += 1
            }
            return released
        }
    }

    /// Backings registered now, used or not (tests).
    var registered: Int { state.withLock { $0.backings.count } }

    /// Gives a backing id back to the kernel and closes the daemon's descriptor of its file.
    private func drop(_ backing: Backing) {
        kernel.unregister(backing.id)
        if backing.descriptor >= 0 { close(backing.descriptor) }
    }
}
