import LakeModel

/// The catalog: the single source of truth for objects (later cases and datasets).
/// `SQLiteCatalog` is the embedded implementation; a PostgreSQL one slots in behind this protocol.
public protocol Catalog: Sendable {
    /// Records a new object in `PENDING_UPLOAD`, with its immutable params.
    func createPendingObject(_ object: LakeObject) throws
    /// Records the object's stored blob and moves it to `UPLOADED`, in one transaction.
    /// `links` are a manifest's references when they are only known once its bytes are stored
    /// (a manifest copied into the mount's incoming/); `receipt` is the mount's entry for the
    /// file, stored (inserted or updated) with it. `draft` is an object that has no pending row
    /// (a file written into incoming/ becomes an object only once stored): it is inserted first.
    /// `unsettled` are the bytes of a small blob whose file is not yet synced, kept until
    /// `forgetUnsettledBlobs` (see `BlobSettling`); `unsynced`: a larger blob's file is still being
    /// synced (`BlobSync`), which is recorded until `forgetUnsyncedBlobs`.
    func completeUpload(_ id: LakeID, blob: BlobRecord, at time: Timestamp, links: ManifestLinks?, receipt: Receipt?,
                        creating draft: LakeObject?, unsettled: [UInt8]?, unsynced: Bool) throws
    /// Stops this process's commits from copying the log into the database when it has grown
    /// (SQLite's automatic checkpoint, which made an unlucky upload's close wait for it): the
    /// caller runs `checkpoint()` in the background instead.
    func deferCheckpoints() throws
    /// Copies what the log holds into the database, without waiting for readers; `truncating`
    /// also empties the log file (and gives its space back), waiting for readers if need be.
    func checkpoint(truncating: Bool) throws
    /// Small blobs whose files may not be durable yet, oldest first.
    func unsettledBlobs() throws -> [UnsettledBlob]
    /// The newest unsettled blob's number, 0 when there is none.
    func lastUnsettledBlob() throws -> Int64
    /// Forgets the unsettled blobs up to `seq`, once their files are durable.
    func forgetUnsettledBlobs(through seq: Int64) throws
    /// Blobs recorded while their files' syncs were running, oldest first.
    func unsyncedBlobs() throws -> [UnsyncedBlob]
    /// Forgets the unsynced records of `objects` (their syncs ended, or their blobs were checked).
    func forgetUnsyncedBlobs(of objects: [LakeID]) throws
    /// Removes the object an unsynced blob was stored for, with its receipt and (when nothing
    /// else uses it) the blob's record, because the blob's bytes never reached the disk: the
    /// close that stored it did not report success. Manifests that found it as a block wait for
    /// that block again. False when the object is gone or uses another blob now.
    @discardableResult
    func discardUnsynced(object: LakeID, blob: String, reason: String, at time: Timestamp) throws -> Bool
    /// Points the references `paths` of a manifest still waiting for its blocks at `child`;
    /// false when none of them was waiting (or the manifest no longer waits).
    @discardableResult
    func attachBlock(_ child: LakeID, to manifest: LakeID, paths: [String], at time: Timestamp) throws -> Bool
    // MARK: receipts of the mount's incoming/ (see `Receipt`)

    /// Every receipt and folder, by node.
    func receipts() throws -> [Receipt]
    /// Stores a new entry (replacing the entry `replacing`, if any); returns its node.
    func insertReceipt(_ receipt: Receipt, replacing: Int64?) throws -> Int64
    /// Node numbers no receipt has or will get from `insertReceipt`: a mount numbers the files
    /// it creates from them without a transaction each, and stores each receipt with its object.
    func reserveReceiptNodes(_ count: Int) throws -> ClosedRange<Int64>
    func updateReceipt(_ receipt: Receipt) throws
    func moveReceipt(_ node: Int64, to parent: Int64, name: [UInt8], replacing: Int64?) throws
    func deleteReceipt(_ node: Int64) throws

    /// Records a blob's MD5 once processing has computed it.
    func recordMD5(_ md5: String, forBlob id: String) throws
    /// Renames an object still waiting for its bytes (a temporary file renamed to its final name).
    func renamePendingObject(_ id: LakeID, fileName: String, format: FileFormat) throws
    /// Removes an object whose upload never completed; false when it is not (or no longer) pending.
    @discardableResult
    func deletePendingObject(_ id: LakeID) throws -> Bool
    func object(_ id: LakeID) throws -> LakeObject?
    /// The same object with its provisions left as the JSON they were stored as: what an
    /// `object.json` needs, without decoding every histogram to encode it again.
    func storedObject(_ id: LakeID) throws -> StoredObject?
    /// Objects, newest first, after the cursor (an id) when given.
    func objects(limit: Int, after cursor: LakeID?) throws -> [LakeObject]
    /// The same page — or `objects(matching:…)`'s, with a filter — with each object's provisions
    /// left as the JSON they were stored as: a page printed as JSON lays that text out instead of
    /// decoding every histogram to write it again.
    func storedObjects(matching filter: ObjectFilter?, limit: Int, after cursor: LakeID?) throws -> [StoredObject]
    func pendingUploadIDs() throws -> [LakeID]
    func updateObject(_ id: LakeID, _ update: ObjectUpdate, at time: Timestamp) throws -> LakeObject
    /// Adds metadata given after the object was stored (incoming/'s sidecars and xattrs), with
    /// `lake upload`'s set-once rules: params (not to a case's member), tags (replaced), geometry
    /// units, annotations (`annotating` applies them to a READY object's fields; others keep them
    /// for processing, and one being processed is queued again). One transaction.
    func applyMetadata(_ id: LakeID, _ metadata: ObjectMetadata, at time: Timestamp,
                       annotating: (LakeObject, [FieldAnnotation]) throws -> (annotations: [FieldAnnotation], provisions: [Provision], warnings: [String])) throws -> LakeObject
    /// Moves objects to the trash in one transaction (refused, naming the user, while a case or
    /// a manifest outside `ids` uses one); their receipts in incoming/ go. Listings, filters,
    /// `object(seq:)`, `seq(of:)`, summaries and processing leave trashed objects out;
    /// `object(_:)` shows them with `trash` set.
    func trashObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject]
    /// Takes objects out of the trash (a manifest only with its trashed blocks).
    func restoreObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject]
    /// Puts FAILED objects back in the processing queue (UPLOADED), all or none; the cases they
    /// made INVALID become UNSETTLED.
    func reprocessObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject]
    /// Which of `ids` are objects in the lake (not trashed, not purged), in one query per 500.
    func liveObjectIDs(among ids: [LakeID]) throws -> Set<LakeID>
    /// Objects in the trash, oldest first.
    func trashedObjects() throws -> [LakeObject]
    /// Deletes trashed objects for good (a block only with the trashed manifest that uses it);
    /// their blobs stay until `lake gc` finds nothing else uses them.
    func purgeObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject]
    /// How many objects the trash holds and the bytes of their blobs.
    func trashTotals() throws -> (count: Int64, bytes: Int64)
    /// `chmod`/`chgrp` of an object, case or dataset: new permission bits and/or group, recorded
    /// as a change; returns the result. The owner never changes.
    func changeAccess(_ id: LakeID, mode: UInt32?, gid: UInt32?, by actor: Actor?, at time: Timestamp) throws -> Ownership
    /// Appends to the audit trail (what the catalog's own changes do not record, e.g. a mount).
    func recordAudit(_ action: String, id: LakeID?, details: [String: JSONValue], by actor: Actor?, at time: Timestamp) throws
    /// The audit trail, newest first, optionally of one entity or one account, before `before`.
    func auditLog(id: LakeID?, uid: UInt32?, limit: Int, before: Int64?) throws -> [AuditEntry]
    /// How many objects an account owns and their bytes (objects made before owners were
    /// recorded are root's).
    func usage(uid: UInt32) throws -> (objects: Int64, bytes: Int64)
    /// The same for every account that owns objects, by uid.
    func usageByOwner() throws -> [UInt32: (objects: Int64, bytes: Int64)]
    /// Applies `change` to a READY object's annotations, provisions and warnings in one
    /// transaction; refuses an object that is not READY.
    func annotateObject(_ id: LakeID, at time: Timestamp,
                        _ change: (LakeObject) throws -> (annotations: [FieldAnnotation], provisions: [Provision], warnings: [String])) throws -> LakeObject

    /// Claims the oldest object waiting for processing in one of `formats` (or whose lease
    /// expired), with a lease for `owner`. Objects whose lease expired `maxAttempts` times are
    /// failed instead. `among` restricts the claim to some objects.
    func claimForProcessing(formats: Set<FileFormat>, among: ClaimScope?, owner: String, leaseSeconds: Double,
                            maxAttempts: Int, now: Timestamp) throws -> ProcessingClaim?
    /// Extends a lease; false when the lease was lost.
    func renewLease(_ id: LakeID, owner: String, leaseSeconds: Double, now: Timestamp) throws -> Bool
    /// Ends processing with READY or FAILED; false (and no change) when `owner` lost the lease.
    func finishProcessing(_ id: LakeID, owner: String, outcome: ProcessingOutcome, at time: Timestamp) throws -> Bool
    /// The same, recording the blob's MD5 (computed while processing) in the same transaction,
    /// whatever became of the lease: the digest is a fact about the bytes.
    func finishProcessing(_ id: LakeID, owner: String, outcome: ProcessingOutcome, md5: (blob: String, digest: String)?,
                          at time: Timestamp) throws -> Bool

    /// Every blob row with the objects that reference it.
    func blobRecords() throws -> [BlobRecord]
    func objectIDs(referencingBlob id: String) throws -> [LakeID]
    /// Whether the catalog has a row for the blob.
    func isBlobRecorded(_ id: String) throws -> Bool
    /// Deletes blob rows no object references; returns their ids.
    func deleteUnreferencedBlobRecords() throws -> [String]
    /// gc's removal in one write transaction: the rows no object references are deleted, then
    /// `remove` is given them and the ids still recorded, removes the blobs (the caller's orphans
    /// too) while the write lock is held, and returns what it removed. An upload's commit waits
    /// for it, so a commit that relied on a blob already stored finds it removed, not half-removed.
    func removeUnreferencedBlobs(_ remove: (_ unreferenced: [String], _ recorded: Set<String>) throws -> [String]) throws -> [String]
    /// Blob rows that no object references (kept until `gc`).
    func unreferencedBlobRecords() throws -> [BlobRecord]
    /// Records that a blob is missing or damaged (the first finding is kept); every object that
    /// uses it changes, so mounts stop serving it. True when newly recorded.
    func recordBlobDamage(_ blob: String, _ damage: BlobDamage) throws -> Bool
    /// Forgets a blob's damage once its bytes are found intact again. True when there was some.
    func clearBlobDamage(_ blob: String, at time: Timestamp) throws -> Bool
    /// Every blob recorded as missing or damaged.
    func damagedBlobIDs() throws -> Set<String>
    /// Notes that blobs were re-hashed and found intact (one transaction).
    func markBlobsChecked(_ blobs: [String], at time: Timestamp) throws
    /// The referenced, undamaged blob re-hashed longest ago (never first), if that was before `before`.
    func blobsToScrub(checkedBefore before: Timestamp, limit: Int) throws -> [BlobRecord]
    /// The change sequence: grows with every change to the catalog.
    func changeSequence() throws -> Int64
    /// Entities changed after `sequence`, and the sequence they bring the reader to.
    func changes(since sequence: Int64) throws -> (latest: Int64, ids: Set<LakeID>)
    /// Every object in one light query (no provisions), oldest first: what a folder listing needs.
    func objectSummaries() throws -> [ObjectSummary]
    /// An object by its never-reused sequence number (the mount's inode numbers).
    func object(seq: Int64) throws -> LakeObject?
    /// The sequence number of an object.
    func seq(of id: LakeID) throws -> Int64?
    /// Objects by id with their sequence numbers, read in a few batched queries (ids not found
    /// are left out): what a large case or dataset folder needs at once.
    func objects(ids: [LakeID]) throws -> [(seq: Int64, object: LakeObject)]
    /// What the mount shows of an object (not trashed) by its sequence number, read without its
    /// provisions, params or tags: the mount builds a folder's view from this, once per folder a
    /// walk enters, and decoding a processed object's fields cost most of a millisecond.
    func objectOutline(seq: Int64) throws -> ObjectOutline?
    /// Outlines by id with their sequence numbers (ids not found are left out), in batches.
    func objectOutlines(ids: [LakeID]) throws -> [(seq: Int64, outline: ObjectOutline)]
    /// Object counts by status.
    func statusCounts() throws -> [ObjectStatus: Int]

    // MARK: many machines (docs/catalog-schema.md, 2026-12-09-cluster)

    /// The store's identity, shared by every machine: `proposed` is recorded if none is yet,
    /// and the recorded one is returned.
    func storeIdentity(proposing proposed: String) throws -> String
    /// Records a mount daemon's session or renews its heartbeat, and removes the sessions of
    /// others silent since `staleBefore` (returned), in one transaction.
    func heartbeat(_ session: NodeSession, staleBefore: Timestamp) throws -> [NodeSession]
    /// A daemon that stops cleanly removes its session.
    func endSession(_ id: String) throws
    /// The mount daemons alive, by host and start.
    func nodeSessions() throws -> [NodeSession]
    /// A way to be woken when the catalog changes (PostgreSQL's LISTEN/NOTIFY), for a watcher
    /// that would otherwise poll; nil where there is none (SQLite: one machine, polled).
    func changeSignal() -> (any ChangeSignal)?
    /// How many blobs the catalog knows and their bytes (each stored once, however many objects
    /// share it).
    func blobTotals() throws -> (count: Int64, bytes: Int64)
    /// Objects UPLOADED or PROCESSING, oldest first, with what holds each back.
    func queuedObjects() throws -> [QueuedObject]

    /// Objects newest first matching `filter` (indexed SQL), after the cursor (an object id).
    func objects(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeObject]

    // MARK: cases (docs/cases-and-datasets.md)

    /// Records a case: members must exist, params must not conflict, mappings must name what
    /// exists; its status is derived from its members now and again when they settle.
    func createCase(_ draft: LakeCase) throws -> LakeCase
    func `case`(_ id: LakeID) throws -> LakeCase?
    /// Cases newest first; with a filter, those with some member object matching it.
    func cases(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeCase]
    func updateCase(_ id: LakeID, name: String?, tags: [String: JSONValue]?, at time: Timestamp) throws -> LakeCase
    func deleteCase(_ id: LakeID, at time: Timestamp) throws
    /// Every case in one light query, oldest first: what the mount's `cases/` lists.
    func caseSummaries() throws -> [EntitySummary]
    /// The never-reused number of a case or dataset, and back.
    func entitySeq(_ id: LakeID) throws -> Int64?
    func entity(seq: Int64, kind: LakeID.Kind) throws -> LakeID?

    // MARK: datasets

    func createDataset(_ draft: LakeDataset) throws -> LakeDataset
    func dataset(_ id: LakeID) throws -> LakeDataset?
    func datasetCases(_ id: LakeID) throws -> [LakeCase]
    func datasets(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeDataset]
    /// The datasets named `name` (ids and when each was frozen, if it was), oldest first.
    func datasetsNamed(_ name: String) throws -> [(id: LakeID, frozenAt: Timestamp?)]
    func addCases(_ cases: [LakeID], to id: LakeID, at time: Timestamp) throws -> LakeDataset
    func removeCases(_ cases: [LakeID], from id: LakeID, at time: Timestamp) throws -> LakeDataset
    func updateDataset(_ id: LakeID, name: String?, description: String?, tags: [String: JSONValue]?, at time: Timestamp) throws -> LakeDataset
    func freezeDataset(_ id: LakeID, augmentations: [String: ParameterDef], at time: Timestamp) throws -> LakeDataset
    func deleteDataset(_ id: LakeID, force: Bool, at time: Timestamp) throws
    /// Frozen datasets, oldest first: what the mount's `datasets/` lists.
    /// Frozen datasets, with their names (`datasets/by-name/` in the mount).
    func frozenDatasetSummaries() throws -> [EntitySummary]
}


extension Catalog {
    public func completeUpload(_ id: LakeID, blob: BlobRecord, at time: Timestamp) throws {
        try completeUpload(id, blob: blob, at: time, links: nil, receipt: nil, creating: nil, unsettled: nil, unsynced: false)
    }

    public func completeUpload(_ id: LakeID, blob: BlobRecord, at time: Timestamp, links: ManifestLinks?) throws {
        try completeUpload(id, blob: blob, at: time, links: links, receipt: nil, creating: nil, unsettled: nil, unsynced: false)
    }
}

/// A blob recorded while its file's syncs were running, the object it was stored for, and its
/// recorded size (nil once the blob has no record any more).
public struct UnsyncedBlob: Sendable, Equatable {
    public var id: String
    public var objectID: LakeID
    public var size: Int64?
    public init(id: String, objectID: LakeID, size: Int64?) {
        self.id = id
        self.objectID = objectID
        self.size = size
    }
}

/// A small blob's bytes, kept in the catalog until its file is known to be durable.
public struct UnsettledBlob: Sendable, Equatable {
    public var seq: Int64
    public var id: String
    public var bytes: [UInt8]
    public init(seq: Int64, id: String, bytes: [UInt8]) {
        self.seq = seq
        self.id = id
        self.bytes = bytes
    }
}

/// A manifest's references as found when its bytes were stored. A reference without an
/// object is either rejected (a warning says why) or a block yet to arrive: processing waits
/// for those until `waitUntil`, then fails naming them.
public struct ManifestLinks: Sendable, Equatable {
    public var references: [FileRef]
    public var warnings: [String]
    public var waitUntil: Timestamp?
    public init(references: [FileRef], warnings: [String], waitUntil: Timestamp?) {
        self.references = references
        self.warnings = warnings
        self.waitUntil = waitUntil
    }
}

/// An object still in the processing queue and why a worker may not take it now.
public struct QueuedObject: Sendable, Hashable {
    public var id: LakeID
    public var status: ObjectStatus
    /// The worker holding a PROCESSING object's lease, and until when.
    public var leaseOwner: String?
    public var leaseExpiresAt: Timestamp?
    /// A manifest waiting for blocks not yet stored, until when.
    public var blocksAwaitedUntil: Timestamp?
    /// Referenced objects not yet READY or FAILED.
    public var unsettledChildren: Int
    public init(id: LakeID, status: ObjectStatus, leaseOwner: String?, leaseExpiresAt: Timestamp?,
                blocksAwaitedUntil: Timestamp?, unsettledChildren: Int) {
        self.id = id
        self.status = status
        self.leaseOwner = leaseOwner
        self.leaseExpiresAt = leaseExpiresAt
        self.blocksAwaitedUntil = blocksAwaitedUntil
        self.unsettledChildren = unsettledChildren
    }
}


/// A blob as the catalog records it.
public struct BlobRecord: Hashable, Sendable {
    public var id: String
    public var size: Int64
    public var md5: String?
    public init(id: String, size: Int64, md5: String?) {
        self.id = id
        self.size = size
        self.md5 = md5
    }
}

/// A change to an object's mutable metadata; nil leaves a field unchanged.
public struct ObjectUpdate: Sendable {
    public var name: String?
    public var description: String?
    /// Replaces the tags wholesale; an empty object clears them.
    public var tags: [String: JSONValue]?
    /// Settable once, while unset; also rewrites the units of the object's Geometry provisions.
    public var geometryUnits: String?

    public init(name: String? = nil, description: String? = nil, tags: [String: JSONValue]? = nil,
                geometryUnits: String? = nil) {
        self.name = name
        self.description = description
        self.tags = tags
        self.geometryUnits = geometryUnits
    }
}

public struct ProcessingClaim: Sendable {
    public var object: LakeObject
    public var attempt: Int
    /// Objects failed during the claim because their attempts ran out.
    public var exhausted: [LakeID]
}

public enum ProcessingOutcome: Sendable, Equatable {
    /// `mesh`: a VTU's, VTP's or VTM's mesh summary (nil for other formats).
    case ready(provisions: EncodedProvisions, warnings: [String], mesh: MeshSummary? = nil)
    case failed(reason: String)
}

/// A processed object's provisions as the catalog stores them: their JSON and the few values the
/// filter index needs. Made before the catalog's transaction, so the statistics themselves (1 KB
/// for each series' histogram, 38 MB for a file of nine 4,096-component arrays) are freed before
/// the row is written rather than held beside its text while the database builds the row.
public struct EncodedProvisions: Sendable, Equatable {
    public let json: String
    let fields: [FilterIndex.FieldRow]

    public init(_ provisions: [Provision]) {
        json = ObjectRow.json(provisions)
        fields = FilterIndex.rows(provisions)
    }
}

extension Catalog {
    /// From the whole object, for catalogs that hold objects in memory anyway.
    public func storedObject(_ id: LakeID) throws -> StoredObject? { try object(id).map(StoredObject.init) }

    /// From the whole objects, likewise.
    public func storedObjects(matching filter: ObjectFilter?, limit: Int, after cursor: LakeID?) throws -> [StoredObject] {
        try (filter.map { try objects(matching: $0, limit: limit, after: cursor) } ?? objects(limit: limit, after: cursor)).map(StoredObject.init)
    }

    public func objectOutline(seq: Int64) throws -> ObjectOutline? { try object(seq: seq).map(ObjectOutline.init) }

    public func objectOutlines(ids: [LakeID]) throws -> [(seq: Int64, outline: ObjectOutline)] {
        try objects(ids: ids).map { ($0.seq, ObjectOutline($0.object)) }
    }
}

/// Wakes a watcher when any process or machine changed the catalog.
public protocol ChangeSignal: Sendable {
    /// True when a change was signalled within `timeout` seconds; false when none was (or the
    /// signal is out of reach for now: the watcher then polls, as without one).
    func wait(upTo timeout: Double) -> Bool
}
