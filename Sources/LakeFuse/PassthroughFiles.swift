import CFuseRing
import Glibc
import Logging
import Synchronization

/// Kernel passthrough for stored files: the kernel reads them from the blob itself, so their
/// reads never reach the daemon and share the blob's page cache. Each inode open for reading
/// has one backing id, shared by all its open handles (the kernel refuses a second backing
/// file for an inode that is open) and given back when its last handle is released — the
/// kernel drops its own use of an open file before it sends the RELEASE.
final class PassthroughFiles: Sendable {
    private struct State {
        var backings: [UInt64: (id: Int32, handles: Int)] = [:]
        var nodeOfHandle: [UInt64: UInt64] = [:]
        /// Why the kernel refused a backing file; from then on only inodes that already have
        /// one use passthrough, so no inode is ever open both ways.
        var refusal: Int32?
        var opens = 0
    }

    private let state = Mutex(State())
    private let logger: Logger

    init(logger: Logger) { self.logger = logger }

    /// Whether FUSE_INIT switched passthrough on for this mount.
    var enabled: Bool { lake_passthrough_enabled() != 0 }

    /// Opens served by passthrough so far.
    var opens: Int { state.withLock { $0.opens } }

    /// The backing id for a new open `handle` of `node`, registering `descriptor` when the inode
    /// has none; nil when passthrough is off or the kernel refused (the daemon then serves
    /// the reads).
    func acquire(node: UInt64, handle: UInt64, descriptor: Int32) -> Int32? {
        guard enabled else { return nil }
        let (id, refused): (Int32?, Int32?) = state.withLock { state in
            if state.backings[node] == nil {
                guard state.refusal == nil else { return (nil, nil) }
                let id = lake_passthrough_register(descriptor)
                guard id > 0 else {
                    state.refusal = -id
                    return (nil, -id)
                }
                state.backings[node] = (id, 0)
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
        guard let backing = state.backings[node] else { return nil }
        state.backings[node] = (backing.id, backing.handles + 1)
        state.nodeOfHandle[handle] = node
        state.opens += 1
        return backing.id
    }

    /// The last close of `handle`; its inode's backing id goes once no handle uses it.
    func release(_ handle: UInt64) {
        state.withLock { state in
            guard let node = state.nodeOfHandle.removeValue(forKey: handle), let backing = state.backings[node] else { return }
            if backing.handles > 1 {
                state.backings[node] = (backing.id, backing.handles - 1)
            } else {
                state.backings.removeValue(forKey: node)
                lake_passthrough_unregister(backing.id)
            }
        }
    }
}
