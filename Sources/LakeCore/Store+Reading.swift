import LakeBlobStore
import LakeCatalog
import LakeModel
import LakeSystem

/// What the mounted filesystem reads from a store. `LakeFS` sees the store only through these
/// (and `IncomingFiles`): it never names the catalog or the blob store.
extension Store {
    public func object(_ id: LakeID) throws -> LakeObject? { try catalog.object(id) }
    public func storedObject(_ id: LakeID) throws -> StoredObject? { try catalog.storedObject(id) }
    public func object(seq: Int64) throws -> LakeObject? { try catalog.object(seq: seq) }
    public func seq(of id: LakeID) throws -> Int64? { try catalog.seq(of: id) }
    public func objectOutline(seq: Int64) throws -> ObjectOutline? { try catalog.objectOutline(seq: seq) }
    public func objectOutlines(ids: [LakeID]) throws -> [(seq: Int64, outline: ObjectOutline)] { try catalog.objectOutlines(ids: ids) }
    public func objects(ids: [LakeID]) throws -> [(seq: Int64, object: LakeObject)] { try catalog.objects(ids: ids) }
    public func objectSummaries() throws -> [ObjectSummary] { try catalog.objectSummaries() }

    public func lakeCase(_ id: LakeID) throws -> LakeCase? { try catalog.case(id) }
    public func dataset(_ id: LakeID) throws -> LakeDataset? { try catalog.dataset(id) }
    public func datasetCases(_ id: LakeID) throws -> [LakeCase] { try catalog.datasetCases(id) }
    public func caseSummaries() throws -> [EntitySummary] { try catalog.caseSummaries() }
    public func frozenDatasetSummaries() throws -> [EntitySummary] { try catalog.frozenDatasetSummaries() }
    public func entitySeq(_ id: LakeID) throws -> Int64? { try catalog.entitySeq(id) }
    public func entity(seq: Int64, kind: LakeID.Kind) throws -> LakeID? { try catalog.entity(seq: seq, kind: kind) }

    /// The change sequence, and what changed after a point of it.
    public func changeSequence() throws -> Int64 { try catalog.changeSequence() }
    public func changes(since sequence: Int64) throws -> (latest: Int64, ids: Set<LakeID>) { try catalog.changes(since: sequence) }
    /// Wakes a watcher at another process's or machine's change, where the catalog can (PostgreSQL).
    public func changeSignal() -> ChangeWaiter? { catalog.changeSignal().map(ChangeWaiter.init) }

    public func openBlob(_ id: String) throws -> ReadableFile { try blobs.open(id) }
    /// A cheap look at a blob's file (there, with the recorded size), without re-hashing it.
    public func blobPresence(_ id: String, expectedSize: Int64) -> BlobCheck { blobs.presence(id, expectedSize: expectedSize) }
    public func damagedBlobIDs() throws -> Set<String> { try catalog.damagedBlobIDs() }
    /// Lets go of blob files the blob store keeps open whose files were removed since (an
    /// account's dataset mount: files the store's daemon handed over); how many went.
    public func releaseRemovedBlobFiles() -> Int { blobs.releaseRemoved() }
}

/// What kind of failure an error from below the core is, for callers that answer in their own
/// terms (the filesystem's errno).
public enum StoreFailure: Sendable, Equatable {
    case noSpace
    case notFound
    case other

    public static func kind(of error: any Error) -> StoreFailure {
        if case .noSpace = error as? BlobStoreError { return .noSpace }
        if case .noSpace = error as? CatalogError { return .noSpace }
        if let error = error as? UploadError, error.isNoSpace { return .noSpace }
        if let system = error as? SystemError {
            if system.isNoSpace { return .noSpace }
            if system.isNotFound { return .notFound }
        }
        return .other
    }
}

/// The catalog's change signal as the filesystem sees it (it knows nothing of the catalog).
public struct ChangeWaiter: Sendable {
    let signal: any ChangeSignal

    /// True when a change was signalled within `timeout` seconds.
    public func wait(upTo timeout: Double) -> Bool { signal.wait(upTo: timeout) }
}
