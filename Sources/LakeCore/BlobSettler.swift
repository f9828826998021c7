import Foundation
import LakeBlobStore
import LakeCatalog
import Logging
import Synchronization

/// Makes small blobs committed unsettled durable in batches (`BlobSettling`): an upload through
/// the mount records a small blob's bytes in the catalog with its object, in the one synced
/// commit that stores it, and renames its file into place without syncing. This thread then
/// syncs the store's filesystem once for everything written meanwhile and forgets those bytes.
/// After a crash, `restore` writes back any blob whose file did not reach the disk before the
/// daemon serves it.
///
/// A second thread finishes stored uploads after their last close (`releaseLater`): removing a
/// spool file's name and writing the log line kept the FUSE worker that answered the RELEASE
/// busy, and the next request on that CPU's queue (the copier's next create) waited for them.
public final class BlobSettler: Sendable {
    private let store: Store
    private let logger: Logger
    private let thread = BackgroundThread(name: "lake-settler")
    private let releaser = BackgroundThread(name: "lake-releaser")
    /// Stored uploads waiting for `releaser`; nil while it is not running (they are then
    /// finished by the caller).
    private let released = Mutex<[StreamingUpload]?>(nil)
    /// How long committed blobs may wait for their sync (`settle_seconds`): the longer, the more
    /// share one sync.
    var batchSeconds: Double { store.config.settleSeconds }

    public init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Starts the thread. It also takes over the catalog's checkpoints (copying its log into the
    /// database, about once a second), so that no upload's close waits for one, and so that the
    /// log is written over from its start rather than grown (a sync of a file that grows must
    /// also write its size).
    public func start() {
        released.withLock { $0 = [] }
        releaser.start { [self] thread in
            // Woken by the first upload of a burst, it lets the burst gather for 50 ms and then
            // finishes all of it: one wake per batch instead of a thread switch per closed file.
            while thread.pause(1), thread.pause(0.05, wakeable: false) { finishReleased() }
            finishReleased()
        }
        do { try store.catalog.deferCheckpoints() } catch {
            logger.warning("the catalog keeps checkpointing in commits: \(error)")
        }
        thread.start { [self] thread in
            var lastCheckpoint = Date()
            /// When the oldest blob waiting for the next sync was committed.
            var batchStarted: Date?
            while true {
                // Woken by a commit when nothing waits; otherwise commits join the batch.
                let slice = batchStarted.map { min(1, max(0, batchSeconds - Date().timeIntervalSince($0))) } ?? 1
                guard thread.pause(slice, wakeable: batchStarted == nil) else { return }
                if batchStarted == nil, ((try? store.catalog.lastUnsettledBlob()) ?? 0) > 0 { batchStarted = Date() }
                if let started = batchStarted, Date().timeIntervalSince(started) >= batchSeconds {
                    settleNow()
                    batchStarted = nil
                }
                if Date().timeIntervalSince(lastCheckpoint) >= 1 {
                    checkpoint(truncating: false)
                    lastCheckpoint = Date()
                }
            }
        }
    }

    private func checkpoint(truncating: Bool) {
        do { try store.catalog.checkpoint(truncating: truncating) } catch {
            logger.error("cannot checkpoint the catalog: \(error)")
        }
    }

    /// Called after a commit that left a blob unsettled.
    public func committed() {
        thread.wake()
    }

    /// Hands over a stored upload whose file was closed for the last time: its spool name is
    /// removed and its storing logged on the settler's own thread. False when that thread is not
    /// running; the caller then finishes the upload itself.
    public func releaseLater(_ upload: StreamingUpload) -> Bool {
        let queued = released.withLock { waiting -> Bool? in
            guard waiting != nil else { return nil }
            waiting!.append(upload)
            return waiting!.count == 1
        }
        if queued == true { releaser.wake() }
        return queued != nil
    }

    private func finishReleased() {
        let batch = released.withLock { waiting -> [StreamingUpload] in
            defer { if waiting != nil { waiting = [] } }
            return waiting ?? []
        }
        for upload in batch { Self.finish(upload, logger: logger) }
    }

    /// Removes a stored upload's spool name and logs it.
    static func finish(_ upload: StreamingUpload, logger: Logger) {
        upload.releaseSpool()
        logger.info("uploaded through incoming/", metadata: ["object": "\(upload.id)", "bytes": "\(upload.size)"])
    }

    /// Stops the threads and settles what is left, so a clean unmount leaves nothing to restore.
    public func stop() {
        releaser.stop()
        let left = released.withLock { waiting in defer { waiting = nil }; return waiting ?? [] }
        for upload in left { Self.finish(upload, logger: logger) }
        thread.stop()
        settleNow()
        // A burst may have grown the log: its space goes back to the disk (which a full one needs).
        checkpoint(truncating: true)
    }

    /// One sync for every blob committed so far.
    public func settleNow() {
        do {
            let last = try store.catalog.lastUnsettledBlob()
            guard last > 0 else { return }
            try store.blobs.settle()
            try store.catalog.forgetUnsettledBlobs(through: last)
        } catch {
            // The bytes stay in the catalog; the next batch (or the next start) settles them.
            logger.error("cannot make recently stored blobs durable yet: \(error)")
        }
    }

    /// Writes back, durably, every unsettled blob whose file is missing or differs from its
    /// bytes (a crash came before the sync), and forgets them. Safe beside a live daemon: an
    /// intact file is only synced again.
    @discardableResult
    public static func restore(_ store: Store) throws -> [String] {
        let waiting = try store.catalog.unsettledBlobs()
        guard let last = waiting.last?.seq else { return [] }
        var restored: [String] = []
        for blob in waiting where try store.blobs.restore(blob.id, bytes: blob.bytes) {
            restored.append(blob.id)
        }
        try store.catalog.forgetUnsettledBlobs(through: last)
        for id in restored {
            store.logger.warning("restored blob \(id) from the catalog: its file had not reached the disk before a crash")
        }
        return restored
    }
}
