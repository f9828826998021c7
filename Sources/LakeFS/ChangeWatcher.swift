import Foundation
import LakeSystem
import LakeCore
import LakeModel
import Logging

/// Watches the catalog's change sequence and tells the filesystem what changed, so changes made
/// by the CLI or another mount show within about a second.
public final class ChangeWatcher: Sendable {
    let fs: LakeFileSystem
    let interval: Double
    let onInvalidate: @Sendable ([LakeFileSystem.Invalidation]) -> Void
    private let thread = BackgroundThread(name: "lake-change-watcher")

    public init(fs: LakeFileSystem, interval: Double = 0.25, onInvalidate: @escaping @Sendable ([LakeFileSystem.Invalidation]) -> Void) {
        self.fs = fs
        self.interval = interval
        self.onInvalidate = onInvalidate
    }

    /// With a change signal (a PostgreSQL catalog: LISTEN/NOTIFY), the catalog is read when a
    /// change is signalled, and every second in case a signal was missed; without one, every
    /// `interval`.
    public func start() throws(ThreadStartError) {
        let start = (try? fs.store.changeSequence()) ?? 0
        let signal = fs.store.changeSignal()
        try thread.start { [self] thread in
            var sequence = start
            var lastRead = 0.0
            repeat {
                let signalled = signal?.wait(upTo: interval) ?? true
                let now = Date().timeIntervalSinceReferenceDate
                guard signalled || now - lastRead >= 1 else { continue }
                lastRead = now
                do {
                    let (latest, ids) = try fs.store.changes(since: sequence)
                    if latest != sequence {
                        sequence = latest
                        onInvalidate(fs.invalidate(ids))
                    }
                } catch {
                    fs.logger.warning("cannot read the catalog's changes: \(error)")
                }
            } while thread.pause(signal == nil ? interval : 0)
        }
    }

    /// Asks the thread to end and waits until it has: it may be telling the kernel about an
    /// invalidation through the FUSE session, which must outlive that.
    public func stop() {
        thread.stop()
    }
}
