import LakeCatalog
import LakeModel
import LakeSystem

/// The catalog as an account other than root may use it (a session of the mount daemon): the
/// rules of the mount, applied to the catalog's entities. Objects, cases and datasets the
/// account may not read are left out of every listing and refused by id; only their owner (or
/// root) changes them, their access or what they hold; a case or dataset is made only of what
/// the account may read; quotas and the audit trail show its own. What is not about entities
/// (uploads, processing, receipts, blobs) passes through: which commands reach it is decided by
/// the session (`SessionProtocol.permittedCommands`).
public struct AccountCatalog: Catalog {
    let base: any Catalog
    let account: Account

    public init(_ base: any Catalog, account: Account) {
        self.base = base
        self.account = account
    }

    // MARK: the rules

    func mayRead(_ owner: Ownership) -> Bool { owner.allowsReading(by: account) || owner.allowsChanging(by: account) }

    func denied(_ id: LakeID, _ owner: Ownership, _ doing: String) -> CatalogError {
        .refused("\(id): permission denied: \(account.name) may not \(doing) it (owner \(SystemUser.name(uid: owner.uid)), "
                 + "group \(SystemGroup.name(gid: owner.gid)), mode \(owner.octal))")
    }

    func readable(_ id: LakeID) throws -> Ownership {
        let owner: Ownership?
        switch id.kind {
        case .object?: owner = try base.object(id)?.owner
        case .case?: owner = try base.case(id)?.owner
        case .dataset?: owner = try base.dataset(id)?.owner
        case nil: owner = nil
        }
        guard let owner else { throw CatalogError.notFound(id) }
        guard mayRead(owner) else { throw denied(id, owner, "read") }
        return owner
    }

    func changeable(_ id: LakeID) throws {
        let owner = try readable(id)
        guard owner.allowsChanging(by: account) else { throw denied(id, owner, "change") }
    }

    func visible<T>(_ entity: T?, _ owner: (T) -> Ownership) -> T? {
        entity.flatMap { mayRead(owner($0)) ? $0 : nil }
    }

    func mine(_ draft: Ownership) -> Ownership { Ownership(uid: account.uid, gid: draft.gid, mode: draft.mode) }

    /// Up to `limit` readable entities after `cursor`: pages of the catalog are read until that
    /// many are found or none are left, so a page of what the account may read is as full, and
    /// its cursor as right, as one of everything (others' private entities in between are skipped).
    func readablePage<T>(limit: Int, after cursor: LakeID?, id: (T) -> LakeID, owner: (T) -> Ownership,
                         _ page: (Int, LakeID?) throws -> [T]) throws -> [T] {
        var found: [T] = []
        var next = cursor
        while found.count < limit {
            let fetched = try page(limit, next)
            found += fetched.filter { mayRead(owner($0)) }
            guard fetched.count == limit, let last = fetched.last else { break }
            next = id(last)
        }
        return Array(found.prefix(limit))
    }

    // MARK: objects

    public func createPendingObject(_ object: LakeObject) throws {
        var object = object
        object.owner = mine(object.owner)
        try base.createPendingObject(object)
    }

    public func completeUpload(_ id: LakeID, blob: BlobRecord, at time: Timestamp, links: ManifestLinks?, receipt: Receipt?,
                               creating draft: LakeObject?, unsettled: [UInt8]?, unsynced: Bool) throws {
        var draft = draft
        if let made = draft { draft?.owner = mine(made.owner) }
        try base.completeUpload(id, blob: blob, at: time, links: links, receipt: receipt, creating: draft, unsettled: unsettled, unsynced: unsynced)
    }

    public func object(_ id: LakeID) throws -> LakeObject? {
        guard let object = try base.object(id) else { return nil }
        guard mayRead(object.owner) else { throw denied(id, object.owner, "read") }
        return object
    }

    public func storedObject(_ id: LakeID) throws -> StoredObject? {
        guard let stored = try base.storedObject(id) else { return nil }
        guard mayRead(stored.object.owner) else { throw denied(id, stored.object.owner, "read") }
        return stored
    }

    public func objects(limit: Int, after cursor: LakeID?) throws -> [LakeObject] {
        try readablePage(limit: limit, after: cursor, id: \.id, owner: \.owner) { try base.objects(limit: $0, after: $1) }
    }

    public func objects(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeObject] {
        try readablePage(limit: limit, after: cursor, id: \.id, owner: \.owner) { try base.objects(matching: filter, limit: $0, after: $1) }
    }

    public func storedObjects(matching filter: ObjectFilter?, limit: Int, after cursor: LakeID?) throws -> [StoredObject] {
        try readablePage(limit: limit, after: cursor, id: \.object.id, owner: \.object.owner) {
            try base.storedObjects(matching: filter, limit: $0, after: $1)
        }
    }

    public func objects(ids: [LakeID]) throws -> [(seq: Int64, object: LakeObject)] {
        try base.objects(ids: ids).filter { mayRead($0.object.owner) }
    }

    public func object(seq: Int64) throws -> LakeObject? { visible(try base.object(seq: seq), \.owner) }
    public func objectOutline(seq: Int64) throws -> ObjectOutline? { visible(try base.objectOutline(seq: seq), \.owner) }
    public func objectOutlines(ids: [LakeID]) throws -> [(seq: Int64, outline: ObjectOutline)] {
        try base.objectOutlines(ids: ids).filter { mayRead($0.outline.owner) }
    }
    public func objectSummaries() throws -> [ObjectSummary] { try base.objectSummaries().filter { mayRead($0.owner) } }

    public func updateObject(_ id: LakeID, _ update: ObjectUpdate, at time: Timestamp) throws -> LakeObject {
        try changeable(id)
        return try base.updateObject(id, update, at: time)
    }

    public func applyMetadata(_ id: LakeID, _ metadata: ObjectMetadata, at time: Timestamp,
                              annotating: (LakeObject, [FieldAnnotation]) throws -> (annotations: [FieldAnnotation], provisions: [Provision], warnings: [String])) throws -> LakeObject {
        try changeable(id)
        return try base.applyMetadata(id, metadata, at: time, annotating: annotating)
    }

    public func trashObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] {
        for id in ids { try changeable(id) }
        return try base.trashObjects(ids, at: time)
    }

    public func restoreObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] {
        for id in ids { try changeable(id) }
        return try base.restoreObjects(ids, at: time)
    }

    public func reprocessObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] {
        for id in ids { try changeable(id) }
        return try base.reprocessObjects(ids, at: time)
    }

    /// Only what the account may change: the trash of others is theirs.
    public func trashedObjects() throws -> [LakeObject] {
        try base.trashedObjects().filter { $0.owner.allowsChanging(by: account) }
    }

    public func purgeObjects(_ ids: [LakeID], at time: Timestamp) throws -> [LakeObject] {
        for id in ids { try changeable(id) }
        return try base.purgeObjects(ids, at: time)
    }

    public func trashTotals() throws -> (count: Int64, bytes: Int64) { try base.trashTotals() }
    public func liveObjectIDs(among ids: [LakeID]) throws -> Set<LakeID> { try base.liveObjectIDs(among: ids) }

    public func annotateObject(_ id: LakeID, at time: Timestamp,
                               _ change: (LakeObject) throws -> (annotations: [FieldAnnotation], provisions: [Provision], warnings: [String])) throws -> LakeObject {
        try changeable(id)
        return try base.annotateObject(id, at: time, change)
    }

    public func changeAccess(_ id: LakeID, mode: UInt32?, gid: UInt32?, by actor: Actor?, at time: Timestamp) throws -> Ownership {
        try changeable(id)
        if let gid, !account.isRoot, !account.belongs(to: gid) {
            throw CatalogError.refused("\(account.name) is not in group \(SystemGroup.name(gid: gid)); only root may give \(id) to it")
        }
        return try base.changeAccess(id, mode: mode, gid: gid, by: actor ?? account.actor, at: time)
    }

    public func auditLog(id: LakeID?, uid: UInt32?, limit: Int, before: Int64?) throws -> [AuditEntry] {
        guard !account.isRoot else { return try base.auditLog(id: id, uid: uid, limit: limit, before: before) }
        if let uid, uid != account.uid { throw CatalogError.refused("\(account.name) may read only its own lines of the audit trail") }
        return try base.auditLog(id: id, uid: account.uid, limit: limit, before: before)
    }

    public func usage(uid: UInt32) throws -> (objects: Int64, bytes: Int64) {
        guard account.isRoot || uid == account.uid else { throw CatalogError.refused("\(account.name) may see only its own use of the store") }
        return try base.usage(uid: uid)
    }

    public func usageByOwner() throws -> [UInt32: (objects: Int64, bytes: Int64)] {
        try base.usageByOwner().filter { account.isRoot || $0.key == account.uid }
    }

    // MARK: cases

    public func createCase(_ draft: LakeCase) throws -> LakeCase {
        for member in draft.members { _ = try readable(member.objectId) }
        var draft = draft
        draft.owner = mine(draft.owner)
        return try base.createCase(draft)
    }

    public func `case`(_ id: LakeID) throws -> LakeCase? {
        guard let found = try base.case(id) else { return nil }
        guard mayRead(found.owner) else { throw denied(id, found.owner, "read") }
        return found
    }

    public func cases(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeCase] {
        try readablePage(limit: limit, after: cursor, id: \.id, owner: \.owner) { try base.cases(matching: filter, limit: $0, after: $1) }
    }

    public func updateCase(_ id: LakeID, name: String?, tags: [String: JSONValue]?, at time: Timestamp) throws -> LakeCase {
        try changeable(id)
        return try base.updateCase(id, name: name, tags: tags, at: time)
    }

    public func deleteCase(_ id: LakeID, at time: Timestamp) throws {
        try changeable(id)
        try base.deleteCase(id, at: time)
    }

    public func caseSummaries() throws -> [EntitySummary] { try base.caseSummaries().filter { mayRead($0.owner) } }

    // MARK: datasets

    public func createDataset(_ draft: LakeDataset) throws -> LakeDataset {
        for id in draft.caseIds { _ = try readable(id) }
        var draft = draft
        draft.owner = mine(draft.owner)
        return try base.createDataset(draft)
    }

    public func dataset(_ id: LakeID) throws -> LakeDataset? {
        guard let found = try base.dataset(id) else { return nil }
        guard mayRead(found.owner) else { throw denied(id, found.owner, "read") }
        return found
    }

    public func datasetCases(_ id: LakeID) throws -> [LakeCase] {
        _ = try readable(id)
        return try base.datasetCases(id)
    }

    public func datasetsNamed(_ name: String) throws -> [(id: LakeID, frozenAt: Timestamp?)] {
        try base.datasetsNamed(name).filter { found in (try base.dataset(found.id)).map { mayRead($0.owner) } ?? false }
    }

    public func datasets(matching filter: ObjectFilter, limit: Int, after cursor: LakeID?) throws -> [LakeDataset] {
        try readablePage(limit: limit, after: cursor, id: \.id, owner: \.owner) { try base.datasets(matching: filter, limit: $0, after: $1) }
    }

    public func addCases(_ cases: [LakeID], to id: LakeID, at time: Timestamp) throws -> LakeDataset {
        try changeable(id)
        for member in cases { _ = try readable(member) }
        return try base.addCases(cases, to: id, at: time)
    }

    public func removeCases(_ cases: [LakeID], from id: LakeID, at time: Timestamp) throws -> LakeDataset {
        try changeable(id)
        return try base.removeCases(cases, from: id, at: time)
    }

    public func updateDataset(_ id: LakeID, name: String?, description: String?, tags: [String: JSONValue]?, at time: Timestamp) throws -> LakeDataset {
        try changeable(id)
        return try base.updateDataset(id, name: name, description: description, tags: tags, at: time)
    }

    public func freezeDataset(_ id: LakeID, augmentations: [String: ParameterDef], at time: Timestamp) throws -> LakeDataset {
        try changeable(id)
        return try base.freezeDataset(id, augmentations: augmentations, at: time)
    }

    public func deleteDataset(_ id: LakeID, force: Bool, at time: Timestamp) throws {
        try changeable(id)
        try base.deleteDataset(id, force: force, at: time)
    }

    /// The whole catalog, once the account is found to be granted dataset `id`: a dataset is the
    /// grant (security.md), so its mount shows every member, whatever the objects' own modes.
    public func granted(dataset id: LakeID) throws -> any Catalog {
        _ = try readable(id)
        return base
    }

    public func frozenDatasetSummaries() throws -> [EntitySummary] { try base.frozenDatasetSummaries().filter { mayRead($0.owner) } }

    // MARK: passed through (uploads, processing, receipts, blobs, changes)

    public func deferCheckpoints() throws { try base.deferCheckpoints() }
    public func checkpoint(truncating: Bool) throws { try base.checkpoint(truncating: truncating) }
    public func unsettledBlobs() throws -> [UnsettledBlob] { try base.unsettledBlobs() }
    public func lastUnsettledBlob() throws -> Int64 { try base.lastUnsettledBlob() }
    public func unsyncedBlobs() throws -> [UnsyncedBlob] { try base.unsyncedBlobs() }
    public func forgetUnsyncedBlobs(of objects: [LakeID]) throws { try base.forgetUnsyncedBlobs(of: objects) }
    public func discardUnsynced(object: LakeID, blob: String, reason: String, at time: Timestamp) throws -> Bool {
        try base.discardUnsynced(object: object, blob: blob, reason: reason, at: time)
    }
    public func forgetUnsettledBlobs(through seq: Int64) throws { try base.forgetUnsettledBlobs(through: seq) }
    public func attachBlock(_ child: LakeID, to manifest: LakeID, paths: [String], at time: Timestamp) throws -> Bool {
        try base.attachBlock(child, to: manifest, paths: paths, at: time)
    }
    public func receipts() throws -> [Receipt] { try base.receipts() }
    public func insertReceipt(_ receipt: Receipt, replacing: Int64?) throws -> Int64 { try base.insertReceipt(receipt, replacing: replacing) }
    public func reserveReceiptNodes(_ count: Int) throws -> ClosedRange<Int64> { try base.reserveReceiptNodes(count) }
    public func updateReceipt(_ receipt: Receipt) throws { try base.updateReceipt(receipt) }
    public func moveReceipt(_ node: Int64, to parent: Int64, name: [UInt8], replacing: Int64?) throws {
        try base.moveReceipt(node, to: parent, name: name, replacing: replacing)
    }
    public func deleteReceipt(_ node: Int64) throws { try base.deleteReceipt(node) }
    public func recordMD5(_ md5: String, forBlob id: String) throws { try base.recordMD5(md5, forBlob: id) }
    public func renamePendingObject(_ id: LakeID, fileName: String, format: FileFormat) throws {
        try base.renamePendingObject(id, fileName: fileName, format: format)
    }
    public func deletePendingObject(_ id: LakeID) throws -> Bool { try base.deletePendingObject(id) }
    public func pendingUploadIDs() throws -> [LakeID] { try base.pendingUploadIDs() }
    public func recordAudit(_ action: String, id: LakeID?, details: [String: JSONValue], by actor: Actor?, at time: Timestamp) throws {
        try base.recordAudit(action, id: id, details: details, by: actor ?? account.actor, at: time)
    }
    public func claimForProcessing(formats: Set<FileFormat>, among: ClaimScope?, owner: String, leaseSeconds: Double,
                                   maxAttempts: Int, now: Timestamp) throws -> ProcessingClaim? {
        try base.claimForProcessing(formats: formats, among: among, owner: owner, leaseSeconds: leaseSeconds, maxAttempts: maxAttempts, now: now)
    }
    public func renewLease(_ id: LakeID, owner: String, leaseSeconds: Double, now: Timestamp) throws -> Bool {
        try base.renewLease(id, owner: owner, leaseSeconds: leaseSeconds, now: now)
    }
    public func finishProcessing(_ id: LakeID, owner: String, outcome: ProcessingOutcome, at time: Timestamp) throws -> Bool {
        try base.finishProcessing(id, owner: owner, outcome: outcome, at: time)
    }
    public func finishProcessing(_ id: LakeID, owner: String, outcome: ProcessingOutcome, md5: (blob: String, digest: String)?,
                                 at time: Timestamp) throws -> Bool {
        try base.finishProcessing(id, owner: owner, outcome: outcome, md5: md5, at: time)
    }
    public func blobRecords() throws -> [BlobRecord] { try base.blobRecords() }
    public func objectIDs(referencingBlob id: String) throws -> [LakeID] { try base.objectIDs(referencingBlob: id) }
    public func isBlobRecorded(_ id: String) throws -> Bool { try base.isBlobRecorded(id) }
    public func deleteUnreferencedBlobRecords() throws -> [String] { try base.deleteUnreferencedBlobRecords() }
    public func removeUnreferencedBlobs(_ remove: (_ unreferenced: [String], _ recorded: Set<String>) throws -> [String]) throws -> [String] {
        try base.removeUnreferencedBlobs(remove)
    }
    public func unreferencedBlobRecords() throws -> [BlobRecord] { try base.unreferencedBlobRecords() }
    public func recordBlobDamage(_ blob: String, _ damage: BlobDamage) throws -> Bool { try base.recordBlobDamage(blob, damage) }
    public func clearBlobDamage(_ blob: String, at time: Timestamp) throws -> Bool { try base.clearBlobDamage(blob, at: time) }
    public func damagedBlobIDs() throws -> Set<String> { try base.damagedBlobIDs() }
    public func markBlobsChecked(_ blobs: [String], at time: Timestamp) throws { try base.markBlobsChecked(blobs, at: time) }
    public func blobsToScrub(checkedBefore before: Timestamp, limit: Int) throws -> [BlobRecord] { try base.blobsToScrub(checkedBefore: before, limit: limit) }
    public func changeSequence() throws -> Int64 { try base.changeSequence() }
    public func changes(since sequence: Int64) throws -> (latest: Int64, ids: Set<LakeID>) { try base.changes(since: sequence) }
    public func seq(of id: LakeID) throws -> Int64? { try base.seq(of: id) }
    public func statusCounts() throws -> [ObjectStatus: Int] { try base.statusCounts() }
    public func storeIdentity(proposing proposed: String) throws -> String { try base.storeIdentity(proposing: proposed) }
    public func heartbeat(_ session: NodeSession, staleBefore: Timestamp) throws -> [NodeSession] {
        try base.heartbeat(session, staleBefore: staleBefore)
    }
    public func endSession(_ id: String) throws { try base.endSession(id) }
    public func nodeSessions() throws -> [NodeSession] { try base.nodeSessions() }
    public func changeSignal() -> (any ChangeSignal)? { base.changeSignal() }
    public func blobTotals() throws -> (count: Int64, bytes: Int64) { try base.blobTotals() }
    public func queuedObjects() throws -> [QueuedObject] { try base.queuedObjects() }
    public func entitySeq(_ id: LakeID) throws -> Int64? { try base.entitySeq(id) }
    public func entity(seq: Int64, kind: LakeID.Kind) throws -> LakeID? { try base.entity(seq: seq, kind: kind) }
}
