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
    private let thread = BackgroundThread(name: "lake-scrubber")

    public init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func start() {
        guard store.config.scrubBytesPerSecond > 0 else { return }
        thread.start { [self] thread in run(thread) }
    }

    /// Asks the thread to end and waits until it has.
    public func stop() {
        thread.stop()
    }

    private func run(_ thread: BackgroundThread) {
        let integrity = BlobIntegrity(store: store)
        let rate = store.config.scrubBytesPerSecond
        while thread.pause(0) {
            do {
                let trusted = Timestamp.now.adding(seconds: -store.config.scrubIntervalHours * 3600)
                guard let blob = try store.catalog.blobToScrub(checkedBefore: trusted) else {
                    // Everything was checked recently: look again when the oldest check may expire.
                    if !thread.pause(min(30, max(0.05, store.config.scrubIntervalHours * 3600 / 4))) { return }
                    continue
                }
                let started = Date()
                let check = store.blobs.check(blob.id, expectedSize: blob.size)
                if let damage = try integrity.record(blob.id, check, foundBy: "scrub", rehashed: true) {
                    logger.error("scrubber: blob \(blob.id) is damaged: \(damage.reason); its objects are no longer served")
                }
                // Sleep off the time the bytes would have taken at the configured rate.
                let owed = Double(blob.size) / rate - Date().timeIntervalSince(started)
                if owed > 0 && !thread.pause(owed) { return }
            } catch {
                logger.error("scrubber: \(error)")
                if !thread.pause(5) { return }
            }
        }
    }
}
