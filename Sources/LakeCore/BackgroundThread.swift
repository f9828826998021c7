import Foundation
import LakeSystem

/// A thread of the mount daemon that works, pauses, and is woken or stopped: `stop()` returns
/// only once the thread has ended, so nothing it uses is torn down under it.
public final class BackgroundThread: Sendable {
    private let state = NSCondition()
    // Read and written only with `state` locked (it is also what the thread waits on).
    nonisolated(unsafe) private var stopping = false
    nonisolated(unsafe) private var woken = false
    nonisolated(unsafe) private var running = false
    /// Whether the thread is in a `pause` that a wake ends: only then is it signalled. A wake
    /// during a pause that ignores wakes (a batch being gathered) used to wake the thread anyway,
    /// and it preempted the waker (a FUSE worker answering a close) just to sleep again.
    nonisolated(unsafe) private var listening = false
    private let name: String

    public init(name: String) {
        self.name = name
    }

    /// Runs `body` on a new thread; `body` returns when `pause` says to stop. Throws when no
    /// thread can be made (a process limit): a service that silently never ran — a settler
    /// never syncing, a scrubber never checking — would be worse than a daemon that says so.
    public func start(_ body: @escaping @Sendable (BackgroundThread) -> Void) throws(ThreadStartError) {
        state.lock()
        running = true
        state.unlock()
        let ended: @Sendable () -> Void = { [self] in
            state.lock()
            running = false
            state.broadcast()
            state.unlock()
        }
        do {
            try DetachedThread.startOrThrow(name) { [self] in
                defer { ended() }
                body(self)
            }
        } catch {
            ended()
            throw error
        }
    }

    /// Asks the thread to end and waits until it has.
    public func stop() {
        state.lock()
        stopping = true
        state.broadcast()
        while running { state.wait() }
        state.unlock()
    }

    /// Ends a `pause` early (new work arrived).
    public func wake() {
        state.lock()
        woken = true
        if listening { state.broadcast() }
        state.unlock()
    }

    /// Waits up to `seconds`, or until woken when `wakeable`; false when asked to stop.
    @discardableResult
    public func pause(_ seconds: Double, wakeable: Bool = true) -> Bool {
        state.lock()
        defer { state.unlock() }
        let until = Date().addingTimeInterval(seconds)
        listening = wakeable
        while !stopping && !(wakeable && woken) && Date() < until { _ = state.wait(until: until) }
        listening = false
        if wakeable { woken = false }
        return !stopping
    }
}
