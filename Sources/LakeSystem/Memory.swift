/// The process's heap.
public enum Memory {
    /// Gives memory that malloc holds free back to the system. glibc keeps freed memory in its
    /// per-thread arenas; a daemon whose many worker threads each had a busy moment would
    /// otherwise keep the high-water mark of every one of them for good.
    public static func releaseFreePages() {
        _ = systemMallocTrim(0)
    }
}

// glibc's malloc_trim is declared in <malloc.h>, which the Glibc module does not export.
@_silgen_name("malloc_trim")
private func systemMallocTrim(_ pad: Int) -> Int32
