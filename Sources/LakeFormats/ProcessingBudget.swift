#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Bounds a reader's time: readers call `check()` between blocks and stop with a clear reason
/// once the deadline has passed. It also carries how far the statistics are (`progress`), for
/// whoever shows it.
public struct ProcessingBudget: Sendable {
    public let deadline: Double?   // CLOCK_MONOTONIC seconds
    public let limitSeconds: Double?
    public let progress: ProcessingProgress?

    public init(limitSeconds: Double?, progress: ProcessingProgress? = nil) {
        self.limitSeconds = limitSeconds
        self.progress = progress
        deadline = limitSeconds.map { ProcessingBudget.monotonicNow() + $0 }
    }

    public static let unlimited = ProcessingBudget(limitSeconds: nil)

    /// Whether the deadline has passed (a reader stopped by `check()` failed for time, not for
    /// what the file holds).
    public var isSpent: Bool {
        guard let deadline else { return false }
        return ProcessingBudget.monotonicNow() > deadline
    }

    public func check() throws(FormatError) {
        guard isSpent else { return }
        throw FormatError("processing took longer than the limit of \(Int(limitSeconds ?? 0)) s and was stopped")
    }

    static func monotonicNow() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// How much of a file's statistics work is done: the decoded bytes of its fields, once per pass
/// (two passes), against the total the reader announced before starting. Read from another
/// thread (a progress bar); written by the passes as they go.
public final class ProcessingProgress: Sendable {
    private let done = Atomic<Int64>(0)
    private let total = Atomic<Int64>(0)

    public init() {}

    func expect(_ bytes: Int64) { total.add(bytes, ordering: .relaxed) }
    func advance(_ bytes: Int64) { done.add(bytes, ordering: .relaxed) }

    /// 0…1, or nil before the reader knows its work (and for files without fields).
    public var fraction: Double? {
        let all = total.load(ordering: .relaxed)
        guard all > 0 else { return nil }
        return min(1, Double(done.load(ordering: .relaxed)) / Double(all))
    }
}
