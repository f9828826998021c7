#if canImport(Glibc)
import Glibc
#endif

/// Bounds a reader's time: readers call `check()` between blocks and stop with a clear reason
/// once the deadline has passed.
public struct ProcessingBudget: Sendable {
    public let deadline: Double?   // CLOCK_MONOTONIC seconds
    public let limitSeconds: Double?

    public init(limitSeconds: Double?) {
        self.limitSeconds = limitSeconds
        deadline = limitSeconds.map { ProcessingBudget.monotonicNow() + $0 }
    }

    public static let unlimited = ProcessingBudget(limitSeconds: nil)

    public func check() throws(FormatError) {
        guard let deadline, ProcessingBudget.monotonicNow() > deadline else { return }
        throw FormatError("processing took longer than the limit of \(Int(limitSeconds ?? 0)) s and was stopped")
    }

    static func monotonicNow() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
