import Foundation
import Synchronization

/// When this process last stored an upload through the mount. The processing worker gives way
/// to uploads (`ProcessingLoop`): on two cores, a worker that claims, parses and records small
/// files while `cp -r` stores more made every stored file wait for its catalog commits, and the
/// copy ran at half speed.
public final class UploadActivity: Sendable {
    /// Monotonic nanoseconds of the last stored upload; 0 before the first.
    private let lastStored = Atomic<UInt64>(0)

    public init() {}

    /// An upload was stored (`at` another instant: tests make uploads "arrive" until a time
    /// to come, instead of running a thread that stores some every few milliseconds).
    public func noteStored(at time: DispatchTime = .now()) {
        lastStored.store(time.uptimeNanoseconds, ordering: .relaxed)
    }

    /// Whether no upload was stored in the last `seconds`.
    public func isQuiet(for seconds: Double) -> Bool {
        let last = lastStored.load(ordering: .relaxed)
        let now = DispatchTime.now().uptimeNanoseconds
        return last == 0 || (now >= last && Double(now - last) / 1e9 >= seconds)
    }

    /// Waits until no upload has been stored for `seconds`, or until `limit` seconds passed;
    /// true when it became quiet.
    @discardableResult
    public func waitForQuiet(_ seconds: Double, atMost limit: Double) -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(limit * 1e9)
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            let last = lastStored.load(ordering: .relaxed)
            let quietUntil = last == 0 ? 0 : last + UInt64(seconds * 1e9)
            if now >= quietUntil { return true }
            if now >= deadline { return false }
            Thread.sleep(forTimeInterval: Double(min(quietUntil, deadline) - now) / 1e9)
        }
    }
}
