#if canImport(Glibc)
import Glibc
#endif

public enum ThreadPriority {
    /// Lowers the calling thread's priority (its nice value, which Linux keeps per thread), so
    /// background work yields the cores to requests someone waits for. Best effort.
    public static func lowerCurrent(to nice: Int32) {
        // Thread 0 would be the whole process.
        let thread = GNUFunctions.gettid()
        guard thread > 0 else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(thread), nice)
    }
}
