import Foundation
import LakeBlobStore
import LakeCatalog
import LakeModel
import Logging

/// The mount daemon's scrubber: re-hashes stored blobs in the background, the longest unchecked
/// first, at `scrub_bytes_per_second` on average, and records what it finds (`BlobIntegrity`).
/// A blob found intact is trusted for `scrub_interval_hours`, then checked again. Reads through
/// kernel passthrough never reach the daemon, so this (with `lake verify`) is what finds a byte
/// flipped inside a blob that keeps its size.
public final class BlobScrubber: Sendable {
    private let store: Store
    private let logger: Logger
    private let state = NSCondition()
    nonisolated(unsafe) private var stopping = false
    nonisolated(unsafe) private var thread: Thread?

    public init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func start() {
        guard store.config.scrubBytesPerSecond > 0 else { return }
        let thread = Thread { [self] in run() }
        thread.name = "lake-scrubber"
        state.lock()
        self.thread = thread
        state.unlock()
        thread.start()
    }

    /// Asks the thread to end and waits until it has.
    public func stop() {
        state.lock()
        stopping = true
        state.broadcast()
        let running = thread != nil
        state.unlock()
        guard running else { return }
        state.lock()
        while thread != nil { state.wait() }
        state.unlock()
    }

    /// Waits up to `seconds`; false when asked to stop meanwhile.
    private func pause(_ seconds: Double) -> Bool {
        state.lock()
        defer { state.unlock() }
        let until = Date().addingTimeInterval(seconds)
        while !stopping && Date() < until { _ = state.wait(until: until) }
        return !stopping
    }

    private func run() {
        defer {
            state.lock()
            thread = nil
            state.broadcast()
            state.unlock()
        }
        let integrity = BlobIntegrity(store: store)
        let rate = store.config.scrubBytesPerSecond
        while pause(0) {
            do {
                let trusted = Timestamp.now.adding(seconds: -store.config.scrubIntervalHours * 3600)
                guard let blob = try store.catalog.blobToScrub(checkedBefore: trusted) else {
                    // Everything was checked recently: look again when the oldest check may expire.
                    if !pause(min(30, max(0.05, store.config.scrubIntervalHours * 3600 / 4))) { return }
                    continue
                }
                let started = Date()
                let check = store.blobs.check(blob.id, expectedSize: blob.size)
                if let damage = try integrity.record(blob.id, check, foundBy: "scrub", rehashed: true) {
                    logger.error("scrubber: blob \(blob.id) is damaged: \(damage.reason); its objects are no longer served")
                }
                // Sleep off the time the bytes would have taken at the configured rate.
                let owed = Double(blob.size) / rate - Date().timeIntervalSince(started)
                if owed > 0 && !pause(owed) { return }
            } catch {
                logger.error("scrubber: \(error)")
                if !pause(5) { return }
            }
        }
    }
}
