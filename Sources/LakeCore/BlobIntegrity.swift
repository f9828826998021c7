import LakeBlobStore
import LakeCatalog
import LakeModel
import LakeSystem

/// What happens when a stored blob is found missing or damaged, whoever finds it: the finding is
/// recorded in the catalog (every object that uses the blob changes, so mounts stop serving it
/// and `lake object show` and the xattrs say so), and it stays until `lake verify` finds the
/// bytes intact again.
public struct BlobIntegrity: Sendable {
    public let store: Store
    public init(store: Store) { self.store = store }

    /// Records a check's outcome: damage when the blob is missing or corrupt, and a clean re-hash
    /// (`rehashed`) as the blob's last check, clearing damage recorded earlier. Returns the damage.
    @discardableResult
    public func record(_ blob: String, _ check: BlobCheck, foundBy: String, rehashed: Bool) throws -> BlobDamage? {
        let now = Timestamp.now
        switch check {
        case .intact:
            if rehashed {
                try store.catalog.markBlobsChecked([blob], at: now)
                _ = try store.catalog.clearBlobDamage(blob, at: now)
            }
            return nil
        case .missing:
            let damage = BlobDamage(foundBy: foundBy, foundAt: now, reason: "the blob file is missing")
            _ = try store.catalog.recordBlobDamage(blob, damage)
            return damage
        case .corrupt(let reason):
            let damage = BlobDamage(foundBy: foundBy, foundAt: now, reason: reason)
            _ = try store.catalog.recordBlobDamage(blob, damage)
            return damage
        case .unavailable:
            return nil
        }
    }

    /// Damage found in the copy of a blob this machine served (a read's re-hash, an open's size
    /// check): recorded, unless that copy is one of several and was dropped to be fetched again
    /// (a bucket store's cached copy, `BlobStore.discardServedCopy`). Whether it was recorded.
    public func recordServed(_ blob: String, _ check: BlobCheck, foundBy: String) throws -> Bool {
        if store.blobs.discardServedCopy(blob) { return false }
        return try record(blob, check, foundBy: foundBy, rehashed: false) != nil
    }

    /// Streams a blob to `sink`, re-hashing it; damage found on the way is recorded before the
    /// error is thrown, and damage recorded earlier refuses the read at once.
    public func stream(_ blob: BlobInfo, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        if let damage = blob.damage { throw BlobStoreError.damaged(id: blob.id, reason: damage.reason) }
        do {
            try store.blobs.stream(blob.id, into: sink)
        } catch BlobStoreError.corruptBlob(let id, let actual) {
            try record(id, .corrupt("its content hashes to \(actual), not to its name"), foundBy: "get", rehashed: true)
            throw BlobStoreError.corruptBlob(id: id, actual: actual)
        } catch let error as SystemError where error.isNotFound {
            try record(blob.id, .missing, foundBy: "get", rehashed: false)
            throw error
        }
    }
}
