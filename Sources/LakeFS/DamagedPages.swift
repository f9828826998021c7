import LakeSystem
import LakeCore
import Synchronization

/// Inodes whose kernel page cache may hold bytes of a copy found damaged. A read the daemon
/// serves is re-hashed as it goes, so the reads before the one that reaches the end have put
/// their pages in the kernel's cache — and some of them in the reader's hands — before the
/// damage was known. Were the copy then fetched again (a bucket's), the reader's retry of the
/// failed part would succeed and it would hold the file whole, damaged bytes and all; files
/// whose pages are kept between opens (a read-only or dataset mount, a stored file without
/// passthrough) would serve those pages to the next reader too. So the read that finds damage
/// marks its inode: reads of it fail with EIO, the reader's retries included, until a thread of
/// the mount has had the kernel drop the inode's pages (not possible while answering that read:
/// the kernel holds those pages locked until the answer) and a reader starts again from the
/// start — whose bytes are then re-hashed from the first.
public final class DamagedPages: Sendable {
    /// Marked inodes, and whether their pages have been dropped since.
    private let nodes = Mutex<[UInt64: Bool]>([:])
    private let thread = BackgroundThread(name: "lake-damaged-pages")
    /// Without the thread (a filesystem not mounted) no page would ever be dropped.
    private let started = Atomic<Bool>(false)

    /// Marks `node`: its reads fail until its pages are dropped and a reader starts afresh.
    func add(_ node: UInt64) {
        guard started.load(ordering: .acquiring) else { return }
        nodes.withLock { $0[node] = false }
        thread.wake()
    }

    /// Whether a read of `node` at `offset` may be served: any read of an unmarked inode; of a
    /// marked one, only a read from the start once its pages are gone (the mark goes with it).
    func admits(_ node: UInt64, at offset: Int64) -> Bool {
        nodes.withLock { nodes in
            guard let dropped = nodes[node] else { return true }
            guard dropped, offset == 0 else { return false }
            nodes[node] = nil
            return true
        }
    }

    /// Marked inodes (tests).
    var count: Int { nodes.withLock { $0.count } }

    /// Starts the thread that has `drop` (the kernel's invalidation of an inode's pages) run for
    /// each newly marked inode.
    public func start(drop: @escaping @Sendable (UInt64) -> Void) throws(ThreadStartError) {
        started.store(true, ordering: .releasing)
        do {
            try thread.start { [self] thread in
                repeat {
                    for node in nodes.withLock({ $0.filter { !$0.value }.map(\.key) }) {
                        drop(node)
                        nodes.withLock { if $0[node] != nil { $0[node] = true } }
                    }
                } while thread.pause(3600)
            }
        } catch {
            started.store(false, ordering: .releasing)
            throw error
        }
    }

    /// Ends the thread (before the FUSE session it invalidates through goes).
    public func stop() {
        started.store(false, ordering: .releasing)
        thread.stop()
    }
}
