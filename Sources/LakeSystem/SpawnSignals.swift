#if canImport(Glibc)
import Glibc
#endif

/// A spawned process starts with no signal blocked and the ending signals at their defaults,
/// whatever its parent had: a parent that blocks SIGTERM (the Swift test runner does, on all its
/// threads) would otherwise pass the block on, and the child could never be asked to stop.
public enum SpawnSignals {
    /// Sets `attributes` so; returns the flags to add to theirs.
    public static func reset(_ attributes: inout posix_spawnattr_t) -> Int32 {
        var none = sigset_t()
        sigemptyset(&none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        return POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
    }
}

/// What a spawned process inherits of its parent's descriptors.
public enum SpawnDescriptors {
    /// Has `actions` close every descriptor from `first` on in the child (after its dup2s): one
    /// another thread made without close-on-exec would otherwise be inherited. False where the
    /// C library cannot (before glibc 2.34).
    @discardableResult
    public static func closeFrom(_ first: Int32, _ actions: inout posix_spawn_file_actions_t) -> Bool {
        guard let addCloseFrom = GNUFunctions.addCloseFrom else { return false }
        return addCloseFrom(&actions, first) == 0
    }

    /// A pipe both of whose ends are closed on exec (read end, write end).
    public static func pipe() throws -> (Int32, Int32) {
        var ends: [Int32] = [-1, -1]
        if let pipe2 = GNUFunctions.pipe2 {
            guard pipe2(&ends, O_CLOEXEC) == 0 else { throw SystemError("pipe", path: "", errno: errno) }
        } else {
            guard Glibc.pipe(&ends) == 0 else { throw SystemError("pipe", path: "", errno: errno) }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        }
        return (ends[0], ends[1])
    }
}
