import LakeCatalog
import LakeModel

/// The catalog of an account's own dataset mount (security.md): the `DatasetSnapshot` its
/// store's daemon took for it, answered from memory. It only reads; everything else is refused.
public final class SnapshotCatalog: Catalog {
    let snapshot: DatasetSnapshot
    let objectsByID: [LakeID: DatasetSnapshot.Member]
    let objectsBySeq: [Int64: LakeObject]
    let casesByID: [LakeID: LakeCase]
    /// The dataset and its cases by their numbers (the mount's inodes are made from them).
    let entitiesBySeq: [Int64: LakeID]

    static let readOnly = CatalogError.refused("a dataset mount only reads")

    public init(_ snapshot: DatasetSnapshot) {
        self.snapshot = snapshot
        objectsByID = Dictionary(snapshot.objects.map { ($0.object.id, $0) }, uniquingKeysWith: { first, _ in first })
        objectsBySeq = Dictionary(snapshot.objects.map { ($0.seq, $0.object) }, uniquingKeysWith: { first, _ in first })
        casesByID = Dictionary(snapshot.cases.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        entitiesBySeq = Dictionary(snapshot.entitySeqs.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
    }

    public func object(_ id: LakeID) throws -> LakeObject? { objectsByID[id]?.object }
    public func objects(ids: [LakeID]) throws -> [(seq: Int64, object: LakeObject)] {
        ids.compactMap { objectsByID[$0].map { ($0.seq, $0.object) } }
    }
    public func object(seq: Int64) throws -> LakeObject? { objectsBySeq[seq] }
    public func seq(of id: LakeID) throws -> Int64? { objectsByID[id]?.seq }
    public func objectSummaries() throws -> [ObjectSummary] { [] }
    public func `case`(_ id: LakeID) throws -> LakeCase? { casesByID[id] }
    public func caseSummaries() throws -> [EntitySummary] { [] }
    public func entitySeq(_ id: LakeID) throws -> Int64? { snapshot.entitySeqs[id] }
    public func entity(seq: Int64, kind: LakeID.Kind) throws -> LakeID? {
        entitiesBySeq[seq].flatMap { $0.kind == kind ? $0 : nil }
    }
    public func dataset(_ id: LakeID) throws -> LakeDataset? { id == snapshot.dataset.id ? snapshot.dataset : nil }
    public func datasetCases(_ id: LakeID) throws -> [LakeCase] { id == snapshot.dataset.id ? snapshot.cases : [] }
    public func frozenDatasetSummaries() throws -> [EntitySummary] { [] }
    public func changeSequence() throws -> Int64 { snapshot.changeSequence }
    public func changes(since sequence: Int64) throws -> (latest: Int64, ids: Set<LakeID>) { (snapshot.changeSequence, []) }
    public func damagedBlobIDs() throws -> Set<String> { snapshot.damaged }
    /// The store's daemon records the mount when it takes the snapshot.
    public func recordAudit(_ action: String, id: LakeID?, details: [String: JSONValue], by actor: Actor?, at time: Timestamp) throws {}

    // MARK: refused
    public func createPendingObject(_ object: LakeObject) throws { throw Self.readOnly }
    public func completeUpload(_ id: LakeID, blob: BlobRecord, at time: Timestamp, links: ManifestLinks?, receipt: Receipt?, creating draft: LakeObject?, unsettled: [UInt8]?, unsynced: Bool) throws { throw Self.readOnly }
    public func deferCheckpoints() throws { throw Self.readOnly }
    public func checkpoint(truncating: Bool) throws { throw Self.readOnly }
    public func unsettledBlobs() throws -> [UnsettledBlob] { throw Self.readOnly }
    public func lastUnsettledBlob() throws -> Int64 { throw Self.readOnly }
    public func unsyncedBlobs() throws -> [UnsyncedBlob] { [] }
    public func forgetUnsyncedBlobs(of objects: [LakeID]) throws { throw Self.readOnly }
    public func discardUnsynced(object: LakeID, blob: String, reason: String, at time: Timestamp) throws -> Bool { throw Self.readOnly }
    public func forgetUnsettledBlobs(through seq: Int64) throws { throw Self.readOnly }
    public func attachBlock(_ child: LakeID, to manifest: LakeID, paths: [String], at time: Timestamp) throws -> Bool { throw Self.readOnly }
    public func receipts() throws -> [Receipt] { throw Self.readOnly }
    public func insertReceipt(_ receipt: Receipt, replacing: Int64?) throws -> Int64 { throw Self.readOnly }
    public func reserveReceiptNodes(_ count: Int) throws -> ClosedRange<Int64> { throw Self.readOnly }
    public func updateReceipt(_ receipt: Receipt) throws { throw Self.readOnly }
    public func moveReceipt(_ node: Int64, to parent: Int64, name: [UInt8], replacing: Int64?) throws { throw Self.readOnly }
    public func deleteReceipt(_ node: Int64) throws { throw Self.readOnly }
    public func applyMetadata(_ id: LakeID, _ metadata: ObjectMetadata, at time: Timestamp,
                              annotating: (LakeObject, [FieldAnnotation]) throws -> (annotations: [FieldAnnotation], provisions: [Provision], warnings: [String])) throws -> LakeObject {
        throw Self.readOnly
    }
    public func trashObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] { throw Self.readOnly }
    public func restoreObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] { throw Self.readOnly }
    public func reprocessObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] { throw Self.readOnly }
    public func trashedObjects() throws -> [LakeObject] { [] }
    public func liveObjectIDs(among ids: [LakeID]) throws -> Set<LakeID> { Set(ids.filter { objectsByID[$0] != nil }) }
    public func purgeObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] { throw Self.readOnly }
    public func trashTotals() throws -> (count: Int64, bytes: Int64) { (0, 0) }
    public func recordMD5(_ md5: String, forBlob id: String) throws { throw Self.readOnly }
    public func renamePendingObject(_ id: LakeID, fileName: String, format: FileFormat) throws { throw Self.readOnly }
    public func deletePendingObject(_ id: LakeID) throws -> Bool { throw Self.readOnly }
    public func objects(limit: Int, after cursor: LakeID?) throws -> [LakeObject] { throw Self.readOnly }
    public func pendingUploadIDs() throws -> [LakeID] { throw Self.readOnly }
    public func updateObject(_ id: LakeID, _ update: ObjectUpdate, at time: Timestamp) throws -> LakeObject { throw Self.readOnly }
    public func changeAccess(_ id: LakeID, mode: UInt32?, gid: UInt32?, by actor: Actor?, at time: Timestamp) throws -> Ownership { throw Self.readOnly }
    public func auditLog(id: LakeID?, uid: UInt32?, limit: Int, before: Int64?) throws -> [AuditEntry] { throw Self.readOnly }
    public func usage(uid: UInt32) throws -> (objects: Int64, bytes: Int64) { throw Self.readOnly }
    public func usageByOwner() throws -> [UInt32: (objects: Int64, bytes: Int64)] { throw Self.readOnly }
    public func annotateObject(_ id: LakeID, at time: Timestamp, _ change: (LakeObject) throws -> (annotations: [FieldAnnotation], provisions: [Provision], warnings: [String])) throws -> LakeObject { throw Self.readOnly }
    public func claimForProcessing(formats: Set<FileFormat>, among: ClaimScope?, owner: String, leaseSeconds: Double, maxAttempts: Int, now: Timestamp) throws -> ProcessingClaim? { throw Self.readOnly }
    public func renewLease(_ id: LakeID, owner: String, leaseSeconds: Double, now: Timestamp) throws -> Bool { throw Self.readOnly }
    public func finishProcessing(_ id: LakeID, owner: String, outcome: ProcessingOutcome, at time: Timestamp) throws -> Bool { throw Self.readOnly }
    public func finishProcessing(_ id: LakeID, owner: String, outcome: ProcessingOutcome, md5: (blob: String, digest: String)?, at time: Timestamp) throws -> Bool { throw Self.readOnly }
    public func blobRecords() throws -> [BlobRecord] { throw Self.readOnly }
    public func objectIDs(referencingBlob id: String) throws -> [LakeID] { throw Self.readOnly }
    public func isBlobRecorded(_ id: String) throws -> Bool { throw Self.readOnly }
    public func deleteUnreferencedBlobRecords() throws -> [String] { throw Self.readOnly }
    public func removeUnreferencedBlobs(_ remove: (_ unreferenced: [String], _ recorded: Set<String>) throws -> [String]) throws -> [String] {
        throw Self.readOnly
    }
    public func unreferencedBlobRecords() throws -> [BlobRecord] { throw Self.readOnly }
    public func recordBlobDamage(_ blob: String, _ damage: BlobDamage) throws -> Bool { throw Self.readOnly }
    public func clearBlobDamage(_ blob: String, at time: Timestamp) throws -> Bool { throw Self.readOnly }
    public func markBlobsChecked(_ blobs: [String], at time: Timestamp) throws { throw Self.readOnly }
    public func blobsToScrub(checkedBefore before: Timestamp, limit: Int) throws -> [BlobRecord] { throw Self.readOnly }
    public func statusCounts() throws -> [ObjectStatus: Int] { throw Self.readOnly }
    public func storeIdentity(proposing proposed: String) throws -> String { throw Self.readOnly }
    public func heartbeat(_ session: NodeSession, staleBefore: Timestamp) throws -> [NodeSession] { throw Self.readOnly }
    public func endSession(_ id: String) throws { throw Self.readOnly }
    public func nodeSessions() throws -> [NodeSession] { [] }
    public func changeSignal() -> (any ChangeSignal)? { nil }
    public func blobTotals() throws -> (count: Int64, bytes: Int64) { throw Self.readOnly }
    public func queuedObjects() throws -> [QueuedObject] { throw Self.readOnly }
    public func objects(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeObject] { throw Self.readOnly }
    public func createCase(_ draft: LakeCase) throws -> LakeCase { throw Self.readOnly }
    public func cases(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeCase] { throw Self.readOnly }
    public func updateCase(_ id: LakeID, name: String?, tags: [String: JSONValue]?, at time: Timestamp) throws -> LakeCase { throw Self.readOnly }
    public func deleteCase(_ id: LakeID, at time: Timestamp) throws { throw Self.readOnly }
    public func createDataset(_ draft: LakeDataset) throws -> LakeDataset { throw Self.readOnly }
    public func datasets(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeDataset] { throw Self.readOnly }
    public func datasetsNamed(_ name: String) throws -> [(id: LakeID, frozenAt: Timestamp?)] {
        snapshot.dataset.name == name ? [(snapshot.dataset.id, snapshot.dataset.frozenAt)] : []
    }
    public func addCases(_ cases: [LakeID], to id: LakeID, at time: Timestamp) throws -> LakeDataset { throw Self.readOnly }
    public func removeCases(_ cases: [LakeID], from id: LakeID, at time: Timestamp) throws -> LakeDataset { throw Self.readOnly }
    public func updateDataset(_ id: LakeID, name: String?, description: String?, tags: [String: JSONValue]?, at time: Timestamp) throws -> LakeDataset { throw Self.readOnly }
    public func freezeDataset(_ id: LakeID, augmentations: [String: ParameterDef], at time: Timestamp) throws -> LakeDataset { throw Self.readOnly }
    public func deleteDataset(_ id: LakeID, force: Bool, at time: Timestamp) throws { throw Self.readOnly }
}
