import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The process's heap.
public enum Memory {
    /// Gives memory that malloc holds free back to the system. glibc keeps freed memory in its
    /// per-thread arenas; a daemon whose many worker threads each had a busy moment would
    /// otherwise keep the high-water mark of every one of them for good.
    public static func releaseFreePages() {
        _ = systemMallocTrim(0)
    }

    /// The same, unless it was done within the last second: for caches that may drop entries on
    /// many calls in a row (a trim walks every arena, a few milliseconds on a large heap).
    public static func releaseFreePagesNowAndThen() {
        let now = UInt64(MonotonicClock.nanoseconds())
        let last = lastTrim.load(ordering: .relaxed)
        guard now &- last >= 1_000_000_000,
              lastTrim.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        releaseFreePages()
    }

    private static let lastTrim = Atomic<UInt64>(0)
}

/// CLOCK_MONOTONIC in nanoseconds.
private enum MonotonicClock {
    static func nanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

// glibc's malloc_trim is declared in <malloc.h>, which the Glibc module does not export.
@_silgen_name("malloc_trim")
private func systemMallocTrim(_ pad: Int) -> Int32
