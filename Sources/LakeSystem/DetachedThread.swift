#if canImport(Glibc)
import Glibc
#endif

/// Threads Lake starts itself, through `pthread_create`, so that a thread that cannot be made is
/// seen. Foundation's `Thread.start()` says nothing when the system makes none (an account at
/// its process limit, `ulimit -u`; a container or service at its cgroup's `pids.max`): the body
/// never runs, and whoever waits for it — an upload's writer, a sync, a part sender — waits for
/// ever. Every caller has a way on without the thread: it does the work itself, or fails with
/// `ThreadStartError`.
public enum DetachedThread {
    /// Runs `body` on a new detached thread named `name` (at most 15 bytes show in `top -H`),
    /// started by — so at the priority of — the calling one; false when none can be made.
    public static func start(_ name: String, _ body: @escaping @Sendable () -> Void) -> Bool {
        (try? startOrThrow(name, body)) != nil
    }

    /// As `start`, but says why no thread was made.
    public static func startOrThrow(_ name: String, _ body: @escaping @Sendable () -> Void) throws(ThreadStartError) {
        final class Start {
            let name: String
            let body: @Sendable () -> Void
            init(_ name: String, _ body: @escaping @Sendable () -> Void) { (self.name, self.body) = (name, body) }
        }
        let start = Unmanaged.passRetained(Start(name, body)).toOpaque()
        var thread = pthread_t()
        let made = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            // The kernel keeps 15 bytes of a name; cut at a character, never inside one.
            var name = start.name
            while name.utf8.count > 15 { name.removeLast() }
            _ = GNUFunctions.setThreadName.map { $0(pthread_self(), name) }
            start.body()
            return nil
        }, start)
        guard made == 0 else {
            Unmanaged<Start>.fromOpaque(start).release()
            throw ThreadStartError(name: name, errno: made)
        }
        pthread_detach(thread)
    }
}

/// No thread could be started (`pthread_create` failed).
public struct ThreadStartError: Error, Equatable, Sendable, CustomStringConvertible {
    public let name: String
    public let errno: Int32

    public var description: String {
        let why = String(cString: strerror(errno))
        guard errno == EAGAIN else { return "cannot start a thread (\(name)): \(why)" }
        return "cannot start a thread (\(name)): \(why) — the account's process limit (ulimit -u) or the cgroup's "
            + "(pids.max, a service's TasksMax) is reached; end some processes or raise the limit"
    }
}
