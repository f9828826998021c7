import Foundation
import LakeSystem

/// Threads that run blocking syncs beside the caller (`BlobSync`). A sync blocks its thread for
/// as long as the disk takes, so the pool grows whenever every thread is busy (Dispatch's
/// global queues keep about one thread per core and add more only after a delay, which would
/// queue one writer's syncs behind another's), and a thread idle for a minute ends. Without a
/// thread to be had (a process limit), the caller runs the sync itself.
final class SyncThreads: Sendable {
    static let shared = SyncThreads()

    private let state = NSCondition()
    // Read and written only with `state` locked.
    nonisolated(unsafe) private var queue: [@Sendable () -> Void] = []
    nonisolated(unsafe) private var idle = 0
    nonisolated(unsafe) private var threads = 0

    func run(_ task: @escaping @Sendable () -> Void) {
        state.lock()
        queue.append(task)
        if idle > queue.count - 1 {
            state.signal()
            state.unlock()
            return
        }
        threads += 1
        state.unlock()
        guard !DetachedThread.start("lake-sync", { [self] in work() }) else { return }
        // No thread: this caller runs a task itself (its own, or one queued before it that
        // another caller's missing thread left); each task still runs once.
        state.lock()
        threads -= 1
        let next = queue.isEmpty ? nil : queue.removeFirst()
        state.unlock()
        next?()
    }

    private func work() {
        state.lock()
        while true {
            if queue.isEmpty {
                idle += 1
                let woken = state.wait(until: Date().addingTimeInterval(60))
                idle -= 1
                if !woken && queue.isEmpty {
                    threads -= 1
                    state.unlock()
                    return
                }
                continue
            }
            let task = queue.removeFirst()
            state.unlock()
            task()
            state.lock()
        }
    }
}

/// Syncs started by `BlobUpload.commitUnsynced`, each on a thread of its own so that their waits
/// overlap with each other and with the caller's catalog commit. `wait()` returns once all have
/// ended and throws the first failure.
public final class BlobSync: Sendable {
    private let state = NSCondition()
    // Read and written only with `state` locked.
    nonisolated(unsafe) private var left: Int
    nonisolated(unsafe) private var failure: (any Error)?

    init(_ steps: [@Sendable () throws -> Void]) {
        left = steps.count
        for step in steps {
            SyncThreads.shared.run { [self] in
                var failed: (any Error)?
                do { try step() } catch { failed = BlobStoreError.wrap(error) }
                state.lock()
                if failure == nil { failure = failed }
                left -= 1
                if left == 0 { state.broadcast() }
                state.unlock()
            }
        }
    }

    /// Waits for every sync; throws the first that failed.
    public func wait() throws {
        state.lock()
        defer { state.unlock() }
        while left > 0 { state.wait() }
        if let failure { throw failure }
    }
}
