import LakeBlobStore
import LakeCatalog
import LakeModel
import LakeSystem

/// An upload whose bytes arrive piece by piece (a file written into the mount's incoming/).
/// `commit()` makes the bytes durable and the object UPLOADED in one step, `abort()` leaves
/// nothing behind. The object exists as PENDING_UPLOAD from the start, or — for a file written
/// into incoming/, which costs one transaction less this way — only from its commit.
public final class StreamingUpload: @unchecked Sendable {
    public let id: LakeID
    public let store: Store
    private let session: any BlobUpload
    private var finished = false
    /// The object while it has no row: recorded by the commit.
    private var draft: LakeObject?

    /// Starts the upload of `draft` (a PENDING_UPLOAD object). The session's lock is held before
    /// the row exists, so recovery never mistakes a live upload for an interrupted one. With
    /// `recordedAtCommit`, no row is written until the commit.
    public init(store: Store, draft: LakeObject, recordedAtCommit: Bool = false) throws {
        self.store = store
        id = draft.id
        session = try store.blobs.beginUpload(session: id.rawValue)
        if recordedAtCommit {
            self.draft = draft
            return
        }
        do {
            try store.catalog.createPendingObject(draft)
        } catch {
            session.abort()
            throw error
        }
    }

    /// An upload known only by its file name (a file written into incoming/), recorded at commit.
    /// `owner` is the writer's: its mode is replaced at the commit by the receipt's then.
    public convenience init(store: Store, fileName: String, createdBy: String, owner: Ownership) throws {
        let now = Timestamp.now
        try self.init(store: store, draft: LakeObject(
            id: LakeID.make(.object, at: now.milliseconds), name: fileName, description: "",
            file: ObjectFile(name: fileName, blob: nil), format: FileFormat(inferredFrom: fileName),
            status: .pendingUpload, createdAt: now, createdBy: createdBy, owner: owner), recordedAtCommit: true)
    }

    public var size: Int64 { session.bytesWritten }
    /// The stored blob, once committed.
    public private(set) var blobID: String?

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try session.write(bytes, at: offset)
    }

    /// Cuts or extends the bytes written so far (`ftruncate` on a file being written).
    public func truncate(to size: Int64) throws {
        try session.truncate(to: size)
    }

    /// Appends a whole file, read straight into the writer's buffers.
    public func write(contentsOf file: ReadableFile, progress: (Int64) -> Void) throws {
        try session.write(contentsOf: file, progress: progress)
    }

    /// Gives the pending object its final name (and the format that name implies).
    public func rename(to fileName: String) throws {
        guard var draft else {
            try store.catalog.renamePendingObject(id, fileName: fileName, format: FileFormat(inferredFrom: fileName))
            return
        }
        draft.name = fileName
        draft.file.name = fileName
        draft.format = FileFormat(inferredFrom: fileName)
        self.draft = draft
    }

    /// Metadata given while the file is written (`setfattr` on it in incoming/, or a sidecar
    /// stored before it), recorded with the object by the commit. False for an upload whose
    /// object already has a row (`lake upload` gives its metadata up front).
    @discardableResult
    public func give(_ metadata: ObjectMetadata) throws(InputError) -> Bool {
        guard var draft, !finished else { return false }
        var merged = ObjectMetadata(params: draft.params, tags: nil, annotations: draft.annotations, geometryUnits: draft.geometryUnits)
        try merged.merge(metadata)
        draft.params = merged.params
        if let tags = metadata.tags { draft.tags = tags }
        draft.annotations = merged.annotations
        draft.geometryUnits = merged.geometryUnits
        self.draft = draft
        return true
    }

    /// Durable bytes and an UPLOADED object, or an error and nothing. `linking` reads the
    /// stored bytes of a manifest and says what its references point at; they are recorded in
    /// the same transaction that makes the object UPLOADED.
    /// `receipt` gives the mount's receipt for the stored blob, recorded in the same transaction.
    /// With a `settler`, the blob is committed unsynced (`commitUnsynced`): a small blob's bytes
    /// are recorded with the object and the settler makes its file durable later; a larger
    /// blob's syncs run while the catalog records it, the commit returns once both are done, and
    /// the settler later forgets that the blob was recorded before its syncs ended (`BlobSettler`).
    /// With `keepingSpoolName`, the spool file's name stays until `releaseSpool()` (the mount
    /// removes it after replying to the close; recovery removes it if that never comes).
    /// `validating` reads the stored bytes first and may refuse them (a sidecar that is not valid
    /// metadata): nothing is then stored.
    public func commit(linking: ((ReadableFile) -> ManifestLinks?)? = nil, receipt: ((StoredBlob) -> Receipt?)? = nil,
                       validating: ((ReadableFile) throws -> Void)? = nil,
                       settler: BlobSettler? = nil, keepingSpoolName: Bool = false) throws {
        guard !finished else { return }
        do {
            try store.blobs.withCommitGuard {
                let stored = try settler == nil ? session.commit() : session.commitUnsynced()
                do {
                    if let validating { try validating(try store.blobs.open(stored.id)) }
                    let links = try linking.flatMap { link in link(try store.blobs.open(stored.id)) }
                    let receipt = receipt?(stored)
                    // The object keeps the mode its receipt has when it is stored (`cp -p` sets it
                    // before closing); it belongs to whoever wrote it.
                    if let receipt, draft != nil { draft!.owner.mode = store.config.objectMode(from: receipt.mode) }
                    try store.catalog.completeUpload(id, blob: BlobRecord(id: stored.id, size: stored.size, md5: nil),
                                                     at: .now, links: links, receipt: receipt, creating: draft,
                                                     unsettled: stored.unsettled, unsynced: stored.sync != nil)
                    try store.blobs.confirmStored(stored.id)
                } catch {
                    // Nothing is left to the syncs still running on the spool file's descriptor.
                    try? stored.sync?.wait()
                    throw error
                }
                if let sync = stored.sync {
                    do {
                        try sync.wait()
                    } catch {
                        // Recorded, but its bytes may never reach the disk: the close reports the
                        // failure and the object goes (recovery removes it if this cannot).
                        _ = try? store.catalog.discardUnsynced(object: id, blob: stored.id,
                                                               reason: "its bytes could not be made durable: \(error)", at: .now)
                        throw error
                    }
                    settler?.synced(id)
                }
                if stored.unsettled != nil { settler?.committed() }
                blobID = stored.id
            }
            finished = true
            if !keepingSpoolName { session.release() }
        } catch {
            abort()
            throw error
        }
    }

    /// Removes the spool file's name after a commit made `keepingSpoolName`.
    public func releaseSpool() {
        session.release()
    }

    public func abort() {
        guard !finished else { return }
        finished = true
        session.abort()
        if draft == nil { _ = try? store.catalog.deletePendingObject(id) }
    }
}
