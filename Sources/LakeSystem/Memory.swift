import Dispatch
import Synchronization

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
        let now = DispatchTime.now().uptimeNanoseconds
        let last = lastTrim.load(ordering: .relaxed)
        guard now &- last >= 1_000_000_000,
              lastTrim.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        releaseFreePages()
    }

    private static let lastTrim = Atomic<UInt64>(0)
}

// glibc's malloc_trim is declared in <malloc.h>, which the Glibc module does not export.
@_silgen_name("malloc_trim")
private func systemMallocTrim(_ pad: Int) -> Int32
