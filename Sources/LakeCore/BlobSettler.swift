import Foundation
import LakeSystem
import LakeBlobStore
import LakeCatalog
import LakeModel
import Logging
import Synchronization

/// Finishes what the mount's uploads leave behind once their closes have returned
/// (`commitUnsynced`). A small file's blob is recorded with its bytes in the catalog, in the one
/// synced commit that stores it, and renamed into place without syncing: this thread syncs the
/// store's filesystem once for everything written meanwhile and forgets those bytes. A larger
/// file's blob is recorded while its file's syncs run, marked as not yet known to be durable;
/// its close returns once the syncs have ended, and this thread forgets the marks. Both in
/// batches (`settle_seconds`). After a crash, `recover` writes back any small blob whose file did
/// not reach the disk, and a marked blob that did not reach it takes its object with it (its
/// close never reported success).
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
    /// Objects whose blobs' syncs have ended, whose marks are not yet forgotten.
    private let synced = Mutex<[LakeID]>([])
    /// How long marks wait to be forgotten together (`settle_seconds`).
    var batchSeconds: Double { store.config.settleSeconds }

    public init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    /// Whether `start` took over the catalog's checkpoints.
    private let checkpointing = Mutex(false)

    /// Starts the threads. With `checkpoints` (the mount daemon), the first also takes over the
    /// catalog's checkpoints (copying its log into the database, about once a second), so that no
    /// upload's close waits for one, and so that the log is written over from its start rather
    /// than grown (a sync of a file that grows must also write its size). `lake upload` leaves
    /// them to its commits: a command that ends soon would only add a checkpoint of its own
    /// beside the daemon's.
    public func start(checkpoints: Bool = true) throws(ThreadStartError) {
        checkpointing.withLock { $0 = checkpoints }
        released.withLock { $0 = [] }
        try releaser.start { [self] thread in
            // Woken by the first upload of a burst, it lets the burst gather for 50 ms and then
            // finishes all of it: one wake per batch instead of a thread switch per closed file.
            while thread.pause(1), thread.pause(0.05, wakeable: false) { finishReleased() }
            finishReleased()
        }
        if checkpoints {
            do { try store.catalog.deferCheckpoints() } catch {
                logger.warning("the catalog keeps checkpointing in commits: \(error)")
            }
        }
        do { try startSyncing(checkpoints: checkpoints) } catch {
            releaser.stop()
            throw error
        }
    }

    private func startSyncing(checkpoints: Bool) throws(ThreadStartError) {
        try thread.start { [self] thread in
            var lastCheckpoint = Date(), lastForget = Date()
            /// When the oldest small blob waiting for the next sync was committed.
            var batchStarted: Date?
            while true {
                // Woken by a small blob's commit when nothing waits; otherwise commits join the batch.
                let slice = batchStarted.map { min(1, max(0, batchSeconds - Date().timeIntervalSince($0))) } ?? min(1, batchSeconds)
                guard thread.pause(slice, wakeable: batchStarted == nil) else { return }
                if batchStarted == nil, ((try? store.catalog.lastUnsettledBlob()) ?? 0) > 0 { batchStarted = Date() }
                if let started = batchStarted, Date().timeIntervalSince(started) >= batchSeconds {
                    settleNow()
                    batchStarted = nil
                }
                if Date().timeIntervalSince(lastForget) >= batchSeconds {
                    forgetSynced()
                    lastForget = Date()
                }
                if checkpoints, Date().timeIntervalSince(lastCheckpoint) >= 1 {
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

    /// Called after a commit that left a small blob unsettled.
    public func committed() {
        thread.wake()
    }

    /// Called once the syncs of a blob recorded unsynced for `object` have ended.
    public func synced(_ object: LakeID) {
        synced.withLock { $0.append(object) }
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

    /// Stops the threads, settles what is left and forgets the marks of what has been synced, so
    /// a clean unmount leaves nothing to restore or check.
    public func stop() {
        releaser.stop()
        let left = released.withLock { waiting in defer { waiting = nil }; return waiting ?? [] }
        for upload in left { Self.finish(upload, logger: logger) }
        thread.stop()
        settleNow()
        forgetSynced()
        // A burst may have grown the log: its space goes back to the disk (which a full one needs).
        if checkpointing.withLock({ $0 }) { checkpoint(truncating: true) }
    }

    /// One sync for every small blob committed so far.
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

    /// Forgets the marks of every blob whose syncs have ended so far.
    public func forgetSynced() {
        let batch = synced.withLock { objects in defer { objects = [] }; return objects }
        guard !batch.isEmpty else { return }
        do { try store.catalog.forgetUnsyncedBlobs(of: batch) } catch {
            // Tried again with the next batch (a full disk refuses even light writes); a crash
            // meanwhile only makes the next start check those blobs again.
            synced.withLock { $0.insert(contentsOf: batch, at: 0) }
            logger.error("cannot forget that recently stored blobs were being synced: \(error)")
        }
    }

    /// What a start finds of uploads whose process died: small blobs written back from the
    /// catalog, and objects removed because their blobs, recorded while being synced, never
    /// reached the disk.
    public struct Recovered: Sendable, Equatable {
        public var restoredBlobs: [String] = []
        public var discardedObjects: [LakeID] = []
    }

    /// Checks the marks of blobs recorded while being synced by processes that are gone (a live
    /// upload's session is left alone): an intact blob is synced again and its mark forgotten;
    /// one missing or damaged loses its object, and a damaged file that nothing else records is
    /// removed. Also writes back small blobs whose files a crash kept from the disk.
    @discardableResult
    public static func recover(_ store: Store) throws -> Recovered {
        var recovered = Recovered()
        recovered.restoredBlobs = try restoreUnsettled(store)
        var forget: [LakeID] = []
        for mark in try store.catalog.unsyncedBlobs() where !store.blobs.isUploadAlive(session: mark.objectID.rawValue) {
            // A blob no longer recorded went with its object (purged, or discarded already).
            guard let size = mark.size else {
                forget.append(mark.objectID)
                continue
            }
            let check = store.blobs.check(mark.id, expectedSize: size)
            // Unknown now: the mark stays for the next start.
            if case .unavailable = check { continue }
            if check == .intact {
                try store.blobs.syncStored(mark.id)
                forget.append(mark.objectID)
                continue
            }
            let reason = check == .missing ? "its blob file was missing" : "its blob file did not hold its bytes"
            if try store.catalog.discardUnsynced(object: mark.objectID, blob: mark.id,
                                                 reason: "\(reason) after a crash: the close that stored it never returned", at: .now) {
                recovered.discardedObjects.append(mark.objectID)
                store.logger.warning("removed object \(mark.objectID): \(reason) after a crash, before its close returned")
            }
            try store.blobs.withSweepGuard {
                if try !store.catalog.isBlobRecorded(mark.id), store.blobs.contains(mark.id) { try store.blobs.delete(mark.id) }
            }
        }
        try store.catalog.forgetUnsyncedBlobs(of: forget)
        return recovered
    }

    /// Writes back, durably, every unsettled blob whose file is missing or differs from its
    /// bytes (a crash came before the sync), and forgets them. Safe beside a live daemon: an
    /// intact file is only synced again.
    static func restoreUnsettled(_ store: Store) throws -> [String] {
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
