import LakeModel

/// Cleans up after processes that died mid-upload: their `PENDING_UPLOAD` rows and spool files,
/// small blobs whose files a crash kept from the disk (written back from the catalog), and
/// objects stored through incoming/ whose blobs a crash kept from the disk before their closes
/// returned (`BlobSettler.recover`).
/// Safe to run at any time, beside live uploads: a session whose writer still holds its lock
/// is left alone.
public struct Recovery: Sendable {
    public let store: Store

    public init(store: Store) { self.store = store }

    public struct Report: Sendable, Equatable {
        public var reapedObjects: [LakeID] = []
        public var discardedSessions: [String] = []
        /// Blob files of uploads whose writer died after naming the blob and before the catalog
        /// recorded it: removed, as nothing refers to them.
        public var removedBlobs: [String] = []
        /// Small blobs written back from the catalog: a crash came before their files were synced.
        public var restoredBlobs: [String] = []
        /// Objects removed because their blobs never reached the disk: a crash came before the
        /// close that stored them returned.
        public var discardedObjects: [LakeID] = []
    }

    /// Objects whose upload was interrupted (writer gone), without changing anything. An upload
    /// takes its spool lock before its row is written, so whether its writer lives can only be
    /// told from the spool it took it in. A store on a bucket has a spool per node cache, and two
    /// nodes may share a machine (and so its name, which the catalog's query goes by): an upload
    /// this node's spool holds no trace of is another node's, alive or not, and is left to it
    /// (`ClusterTests.theSameBytesUploadedOnBothNodesAtOnceAreOneBlob` once saw one node reap the
    /// other's upload mid-way). A store folder has one spool: a row without a trace there lost
    /// its writer's files, and is reaped.
    public func interruptedUploads() throws -> [LakeID] {
        let traced = store.config.bucket == nil ? nil : Set(try store.blobs.uploadSessions())
        return try store.catalog.pendingUploadIDs().filter { id in
            traced.map { $0.contains(id.rawValue) } != false && !store.blobs.isUploadAlive(session: id.rawValue)
        }
    }

    /// Spool sessions whose writer is gone.
    public func abandonedSessions() throws -> [String] {
        try store.blobs.uploadSessions().filter { !store.blobs.isUploadAlive(session: $0) }
    }

    public func run() throws -> Report {
        var report = Report()
        let recovered = try BlobSettler.recover(store)
        report.restoredBlobs = recovered.restoredBlobs
        report.discardedObjects = recovered.discardedObjects
        for id in try interruptedUploads() where try store.catalog.deletePendingObject(id) {
            store.logger.info("removed an interrupted upload", metadata: ["object": "\(id)"])
            report.reapedObjects.append(id)
        }
        for session in try store.blobs.uploadSessions() {
            let stored = store.blobs.blobStored(byAbandoned: session)
            guard try store.blobs.discardUpload(session: session) else { continue }
            report.discardedSessions.append(session)
            if let stored, try removeUnrecorded(stored) { report.removedBlobs.append(stored) }
        }
        return report
    }

    /// Removes a blob file the catalog does not record. Under the sweep guard, so no commit is
    /// in progress: one that found these bytes already stored and kept them has recorded them.
    private func removeUnrecorded(_ blob: String) throws -> Bool {
        try store.blobs.withSweepGuard {
            guard try !store.catalog.isBlobRecorded(blob) else { return false }
            try store.blobs.delete(blob)
            store.logger.info("removed the blob of an interrupted upload", metadata: ["blob": "\(blob)"])
            return true
        }
    }
}
