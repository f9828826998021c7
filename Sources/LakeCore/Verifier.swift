import Dispatch
import LakeBlobStore
import LakeCatalog
import LakeModel
import Synchronization

/// Re-hashes every blob and cross-checks the catalog against the blob store. What it finds about
/// blobs is recorded (`BlobIntegrity`): damage, so mounts stop serving it, and clean re-hashes,
/// which clear damage recorded earlier (bytes restored from a copy). Small blobs a crash kept
/// from the disk are first written back from the catalog (`BlobSettler`). Nothing else changes.
public struct Verifier: Sendable {
    public let store: Store
    public init(store: Store) { self.store = store }

    public struct Problem: Sendable, Codable, Equatable {
        public var blob: String
        public var objects: [LakeID]
        public var reason: String
    }

    public struct Report: Sendable, Codable, Equatable {
        public var checkedBlobs = 0
        public var checkedBytes: Int64 = 0
        /// Blobs the catalog records whose bytes are gone.
        public var missing: [Problem] = []
        /// Blobs whose bytes do not match their name or recorded size.
        public var corrupt: [Problem] = []
        /// Blobs that could not be read now (a bucket that did not answer): nothing is known of
        /// them, nothing was recorded, and the report is not clean.
        public var unchecked: [Problem] = []
        /// Blob files the catalog does not record.
        public var orphanedFiles: [String] = []
        /// Blob rows no object references.
        public var unreferencedBlobs: [String] = []
        /// Uploads whose process died (objects and spool sessions), cleared by `lake gc`.
        public var interruptedUploads: [LakeID] = []
        public var abandonedSpool: [String] = []
        public var strayFiles: [String] = []
        /// Small blobs whose files a crash kept from the disk, written back from the catalog
        /// before checking (not a problem: nothing was lost).
        public var restoredBlobs: [String] = []

        public var isClean: Bool {
            missing.isEmpty && corrupt.isEmpty && unchecked.isEmpty && orphanedFiles.isEmpty && unreferencedBlobs.isEmpty
                && interruptedUploads.isEmpty && abandonedSpool.isEmpty && strayFiles.isEmpty
        }

        enum CodingKeys: String, CodingKey {
            case missing, corrupt, unchecked
            case checkedBlobs = "checked_blobs"
            case checkedBytes = "checked_bytes"
            case orphanedFiles = "orphaned_files"
            case unreferencedBlobs = "unreferenced_blobs"
            case interruptedUploads = "interrupted_uploads"
            case abandonedSpool = "abandoned_spool"
            case strayFiles = "stray_files"
            case restoredBlobs = "restored_blobs"
        }
    }

    /// Records what the re-hash found: damage blob by blob (rare), the intact ones in one
    /// transaction, and damage recorded earlier cleared only where there was some.
    func record(_ checks: [(blob: String, check: BlobCheck)]) throws {
        let integrity = BlobIntegrity(store: store)
        let damaged = try store.catalog.damagedBlobIDs()
        var intact: [String] = []
        for (blob, check) in checks {
            if check == .intact {
                intact.append(blob)
                if damaged.contains(blob) { _ = try store.catalog.clearBlobDamage(blob, at: .now) }
            } else {
                try integrity.record(blob, check, foundBy: "verify", rehashed: true)
            }
        }
        try store.catalog.markBlobsChecked(intact, at: .now)
    }

    public func run() throws -> Report {
        var report = Report()
        report.restoredBlobs = try BlobSettler.restoreUnsettled(store)
        let records = try store.catalog.blobRecords()
        // Blobs are re-hashed on both cores; each result lands in its own slot.
        let results = Mutex([BlobCheck?](repeating: nil, count: records.count))
        let next = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                if index >= records.count { return }
                let check = store.blobs.check(records[index].id, expectedSize: records[index].size)
                results.withLock { $0[index] = check }
            }
        }
        let checks = results.withLock { $0 }
        try record(zip(records.map(\.id), checks).compactMap { id, check in check.map { (id, $0) } })
        for (record, check) in zip(records, checks) {
            report.checkedBlobs += 1
            report.checkedBytes += record.size
            switch check {
            case .intact, nil: break
            case .missing:
                report.missing.append(Problem(blob: record.id, objects: try store.catalog.objectIDs(referencingBlob: record.id),
                                              reason: "the blob file is missing"))
            case .corrupt(let reason):
                report.corrupt.append(Problem(blob: record.id, objects: try store.catalog.objectIDs(referencingBlob: record.id),
                                              reason: reason))
            case .unavailable(let reason):
                report.unchecked.append(Problem(blob: record.id, objects: try store.catalog.objectIDs(referencingBlob: record.id),
                                                reason: reason))
            }
        }
        let recorded = Set(records.map(\.id))
        report.orphanedFiles = try store.blobs.allBlobIDs().filter { !recorded.contains($0) }
        report.unreferencedBlobs = try store.catalog.unreferencedBlobRecords().map(\.id)
        let recovery = Recovery(store: store)
        report.interruptedUploads = try recovery.interruptedUploads()
        report.abandonedSpool = try recovery.abandonedSessions()
        if let local = store.blobs as? LocalBlobStore {
            report.strayFiles = try local.strayFiles()
        }
        return report
    }
}
