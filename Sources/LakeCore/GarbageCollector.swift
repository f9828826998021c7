import LakeBlobStore
import LakeCatalog
import LakeModel

/// Purges the trash of objects whose `trash_days` are over, then removes what nothing
/// references: blob rows and files no object uses (a trashed object still uses its blob), and
/// the leftovers of interrupted uploads. Runs under the blob store's sweep guard, so a blob committed by a
/// concurrent upload is never removed before its catalog record lands.
public struct GarbageCollector: Sendable {
    public let store: Store
    public init(store: Store) { self.store = store }

    public struct Report: Sendable, Codable, Equatable {
        public var purgedObjects: [LakeID] = []
        public var reapedObjects: [LakeID] = []
        public var discardedUploads: [String] = []
        public var removedBlobs: [String] = []
        public var freedBytes: Int64 = 0

        enum CodingKeys: String, CodingKey {
            case purgedObjects = "purged_objects"
            case reapedObjects = "reaped_objects"
            case discardedUploads = "discarded_uploads"
            case removedBlobs = "removed_blobs"
            case freedBytes = "freed_bytes"
        }
    }

    public func run() throws -> Report {
        var report = Report()
        report.purgedObjects = try Trash(store: store).purgeExpired().map(\.id)
        let recovered = try Recovery(store: store).run()
        report.reapedObjects = recovered.reapedObjects
        report.discardedUploads = recovered.discardedSessions
        try store.blobs.withSweepGuard {
            // Other machines upload to a shared store: a blob they have put and not yet recorded
            // looks like an orphan here. Only those older than the grace period go.
            let present = store.config.catalog == nil ? try store.blobs.allBlobIDs()
                : try store.blobs.blobIDs(storedBefore: Timestamp.now.adding(seconds: -store.config.gcGraceHours * 3600))
            // Removed while the catalog's write lock is held (see `removeUnreferencedBlobs`).
            let removed = try store.catalog.removeUnreferencedBlobs { unreferenced, recorded in
                var removed: [String] = []
                for id in Set(unreferenced).union(present.filter { !recorded.contains($0) }).sorted() where !recorded.contains(id) {
                    let size = (try? store.blobs.size(of: id) ?? 0) ?? 0
                    do {
                        try store.blobs.delete(id)
                        removed.append(id)
                        report.freedBytes += size
                    } catch {
                        // Its row is gone with the others; the blob stays an orphan for a later gc.
                        store.logger.warning("cannot remove unreferenced blob \(id): \(error)")
                    }
                }
                return removed
            }
            report.removedBlobs = removed
            for id in removed { store.logger.debug("removed unreferenced blob", metadata: ["blob": "\(id)"]) }
        }
        return report
    }
}
