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
