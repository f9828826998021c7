import LakeModel
import LakeCore
import Logging
import Synchronization

/// Every open of a stored file asks here first. A blob the catalog records as missing or
/// damaged is refused with EIO; so is one whose file is gone or has another size than recorded,
/// which is recorded as damage on the spot (found by `open`). A byte flipped inside a blob of
/// the right size is the scrubber's and `lake verify`'s to find: reads served by kernel
/// passthrough never show the daemon the bytes.
final class BlobGuard: Sendable {
    let store: Store
    let logger: Logger
    /// Blob descriptors kept between opens: a dropped copy's goes with it.
    let keptFiles: OpenFiles
    /// Blobs recorded as damaged, refreshed whenever the catalog changes.
    private let damaged: Mutex<Set<String>>

    init(store: Store, logger: Logger, keptFiles: OpenFiles) {
        self.store = store
        self.logger = logger
        self.keptFiles = keptFiles
        damaged = Mutex((try? store.damagedBlobIDs()) ?? [])
    }

    /// A blob newly recorded damaged (by this daemon, the scrubber, `lake verify` or another
    /// node) has its kept descriptor let go of too: were the record cleared once a good copy is
    /// back under its name, the next open must open that copy, not the damaged file kept open.
    func refresh() {
        guard let fresh = try? store.damagedBlobIDs() else { return }
        let added = damaged.withLock { known in
            defer { known = fresh }
            return fresh.subtracting(known)
        }
        for blob in added { keptFiles.forgetKept(blob) }
    }

    /// Records damage found while serving a read or an open; every later open of the blob fails
    /// — unless the damaged copy was this node's cache of a blob kept in a bucket, which the
    /// core drops: the next open fetches the blob again, verified.
    func record(_ blob: String, _ check: BlobCheck, foundBy: String) {
        let recorded = (try? BlobIntegrity(store: store).recordServed(blob, check, foundBy: foundBy)) ?? true
        guard recorded else {
            keptFiles.forgetKept(blob)
            logger.warning("this node's copy of blob \(blob) was damaged (\(check)) and is dropped; the next open fetches it again")
            return
        }
        logger.error("blob \(blob) is damaged (\(check)); its objects are no longer served")
        damaged.withLock { _ = $0.insert(blob) }
        keptFiles.forgetKept(blob)
    }

    /// A re-hash found the blob's bytes hash to `actual`, not to its name.
    func recordCorrupt(_ blob: String, hashingTo actual: String, foundBy: String) {
        record(blob, .corrupt("its content hashes to \(actual), not to its name"), foundBy: foundBy)
    }

    /// Whether the blob is known to be damaged (recorded by the catalog or found while serving).
    func isDamaged(_ blob: String) -> Bool {
        damaged.withLock { $0.contains(blob) }
    }

    /// What an open of a stored file of blob `blob` (`size` bytes) reads from: refused if the
    /// blob is known damaged; a descriptor kept from an earlier open whose file is still the
    /// blob's and of its size is used as it is (no path walk); else the blob's file is checked
    /// (`check`) and opened.
    func source(_ blob: String, size: Int64, in files: OpenFiles) throws(FSError) -> OpenFiles.Source {
        if isDamaged(blob) { throw .io("blob \(blob) is damaged") }
        return try files.blobSource(blob, size: size, check: { () throws(FSError) in try check(blob, size: size) },
                                    open: { try store.openBlob(blob) })
    }

    func check(_ blob: String, size: Int64) throws(FSError) {
        if damaged.withLock({ $0.contains(blob) }) { throw .io("blob \(blob) is damaged") }
        let check = store.blobPresence(blob, expectedSize: size)
        if case .unavailable(let why) = check { throw .io("blob \(blob) cannot be reached: \(why)") }
        guard check == .intact else {
            record(blob, check, foundBy: "open")
            throw .io("blob \(blob) is damaged")
        }
    }
}
