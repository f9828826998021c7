import LakeBlobStore
import LakeCatalog
import LakeModel

/// `lake object reprocess`: FAILED objects (and a manifest's FAILED blocks, which the catalog
/// takes along) back in the queue — once their stored bytes are re-hashed. A FAILED object may
/// have waited days for its cause to be fixed; bytes damaged meanwhile would otherwise become a
/// READY object's statistics, vouched for by the hash in its name.
public struct Reprocessing: Sendable {
    public let store: Store
    public init(store: Store) { self.store = store }

    public func requeue(_ ids: [LakeID]) throws -> [LakeObject] {
        var seen = Set<String>()
        for object in try objectsToCheck(ids) {
            guard let blob = object.file.blob, seen.insert(blob.id).inserted else { continue }
            if let damage = blob.damage {
                throw CatalogError.refused(Self.damaged(object, damage.reason))
            }
            let check = store.blobs.check(blob.id, expectedSize: blob.size)
            if let damage = try BlobIntegrity(store: store).record(blob.id, check, foundBy: "reprocess", rehashed: true) {
                throw CatalogError.refused(Self.damaged(object, damage.reason))
            }
            if case .unavailable(let reason) = check {
                throw CatalogError.refused("object \(object.id)'s stored bytes cannot be read now (\(reason)); nothing was queued")
            }
        }
        return try store.catalog.reprocessObjects(ids, at: .now)
    }

    static func damaged(_ object: LakeObject, _ reason: String) -> String {
        "object \(object.id)'s stored bytes are damaged (\(reason)); nothing was queued: upload the file again (`lake verify` lists every damaged blob)"
    }

    /// The named objects and their FAILED blocks, as the catalog will take them (read here only
    /// to check their bytes; the catalog decides again inside its transaction).
    private func objectsToCheck(_ ids: [LakeID], depth: Int = 0) throws -> [LakeObject] {
        guard depth <= 8 else { return [] }
        var found: [LakeObject] = []
        for id in ids {
            // Anything but FAILED is refused by the catalog (or, for a block, left as it is).
            guard let object = try store.catalog.object(id), object.status == .failed else { continue }
            found.append(object)
            found += try objectsToCheck(object.contentReferences.compactMap(\.objectId), depth: depth + 1)
        }
        return found
    }
}
