#if canImport(Glibc)
import Glibc
#endif

extension Timestamp {
    /// The current time from the system's real-time clock.
    public static var now: Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(microseconds: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }
}
