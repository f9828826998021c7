import Foundation
import LakeSystem
import LakeBlobStore
import LakeCatalog
import LakeModel
import Logging

/// The mount daemon's scrubber: re-hashes stored blobs in the background, the longest unchecked
/// first, at `scrub_bytes_per_second` on average (a small blob counts as 64 KiB), pausing while
/// files are being stored (for at most 9 s before a batch of 64), and records what it finds
/// (`BlobIntegrity`).
/// A store whose blobs are in a bucket has its node's cached copies checked (`BlobStore.scrub`;
/// the bucket's own copies are `lake verify`'s to check).
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

    public func start() throws(ThreadStartError) {
        guard store.config.scrubBytesPerSecond > 0 else { return }
        try thread.start { [self] thread in run(thread) }
    }

    /// Asks the thread to end and waits until it has.
    public func stop() {
        thread.stop()
    }

    /// Blobs taken per catalog query, and recorded as checked per transaction.
    static let batch = 64
    /// What a blob costs the rate at least: a small blob's open and catalog work cost more than
    /// its bytes, and at the bytes' rate alone the scrubber never paused on small files.
    static let minimumCharge: Double = 64 * 1024
    /// The longest the scrubber waits for uploads to pause before it checks a batch anyway (as
    /// processing takes a turn): a lake that receives files without pause is still scrubbed.
    static let longestWait: Double = 9

    private func run(_ thread: BackgroundThread) {
        let integrity = BlobIntegrity(store: store)
        let rate = store.config.scrubBytesPerSecond
        var waitingSince: Date?
        while thread.pause(0) {
            // Gives way to uploads, as processing does: its reads and catalog writes would take
            // the disk and the catalog's writer from the closes of a `cp -r`. And to a reader
            // waiting for a blob from a bucket: re-hashing took both cores from that fetch.
            if !store.uploads.isQuiet(for: 1) || store.blobs.isFetching {
                let since = waitingSince ?? Date()
                waitingSince = since
                if Date().timeIntervalSince(since) < Self.longestWait {
                    if !thread.pause(1) { return }
                    continue
                }
            }
            waitingSince = nil
            do {
                let trusted = Timestamp.now.adding(seconds: -store.config.scrubIntervalHours * 3600)
                let blobs = try store.catalog.blobsToScrub(checkedBefore: trusted, limit: Self.batch)
                guard !blobs.isEmpty else {
                    // Everything was checked recently: look again when the oldest check may expire.
                    if !thread.pause(min(30, max(0.05, store.config.scrubIntervalHours * 3600 / 4))) { return }
                    continue
                }
                var intact: [String] = []
                var unreachable = false
                for blob in blobs {
                    let started = Date()
                    let check = store.blobs.scrub(blob.id, expectedSize: blob.size)
                    if check == .intact {
                        intact.append(blob.id)
                    } else if case .unavailable(let why) = check {
                        // The store did not answer: the rest of the batch waits for the next turn.
                        logger.warning("scrubber: blob \(blob.id) cannot be checked now: \(why)")
                        unreachable = true
                        break
                    } else if let damage = try integrity.record(blob.id, check, foundBy: "scrub", rehashed: true) {
                        logger.error("scrubber: blob \(blob.id) is damaged: \(damage.reason); its objects are no longer served")
                    }
                    // Sleep off the time the bytes would have taken at the configured rate.
                    let owed = max(Double(blob.size), Self.minimumCharge) / rate - Date().timeIntervalSince(started)
                    if owed > 0 && !thread.pause(owed) { break }
                }
                // Scrubbed blobs are never damaged ones (the query leaves those out): nothing to clear.
                try store.catalog.markBlobsChecked(intact, at: .now)
                if unreachable && !thread.pause(30) { return }
            } catch {
                logger.error("scrubber: \(error)")
                if !thread.pause(5) { return }
            }
        }
    }
}
