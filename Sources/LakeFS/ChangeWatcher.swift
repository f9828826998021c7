import Foundation
import LakeCore
import LakeModel
import Logging

/// Watches the catalog's change sequence and tells the filesystem what changed, so changes made
/// by the CLI or another mount show within about a second.
public final class ChangeWatcher: @unchecked Sendable {
    let fs: LakeFileSystem
    let interval: Double
    let onInvalidate: @Sendable ([LakeFileSystem.Invalidation]) -> Void
    private let stopped = NSCondition()
    private var stopping = false
    private var running = false

    public init(fs: LakeFileSystem, interval: Double = 0.25, onInvalidate: @escaping @Sendable ([LakeFileSystem.Invalidation]) -> Void) {
        self.fs = fs
        self.interval = interval
        self.onInvalidate = onInvalidate
    }

    public func start() {
        let start = (try? fs.store.changeSequence()) ?? 0
        stopped.lock()
        running = true
        stopped.unlock()
        let thread = Thread { [self] in
            defer {
                stopped.lock()
                running = false
                stopped.broadcast()
                stopped.unlock()
            }
            var sequence = start
            while !isStopping() {
                do {
                    let (latest, ids) = try fs.store.changes(since: sequence)
                    if latest != sequence {
                        sequence = latest
                        onInvalidate(fs.invalidate(ids))
                    }
                } catch {
                    fs.logger.warning("cannot read the catalog's changes: \(error)")
                }
                stopped.lock()
                if !stopping { _ = stopped.wait(until: Date(timeIntervalSinceNow: interval)) }
                stopped.unlock()
            }
        }
        thread.name = "lake-change-watcher"
        thread.start()
    }

    func isStopping() -> Bool {
        stopped.lock()
        defer { stopped.unlock() }
        return stopping
    }

    /// Asks the thread to end and waits until it has: it may be telling the kernel about an
    /// invalidation through the FUSE session, which must outlive that.
    public func stop() {
        stopped.lock()
        stopping = true
        stopped.broadcast()
        while running { stopped.wait() }
        stopped.unlock()
    }
}
