import LakeBlobStore
import LakeCatalog
import LakeModel
import LakeSystem

/// An upload whose bytes arrive piece by piece (a file written into the mount's incoming/).
/// The object exists as PENDING_UPLOAD from the start; `commit()` makes the bytes durable and
/// the object UPLOADED in one step, `abort()` leaves nothing behind.
public final class StreamingUpload: @unchecked Sendable {
    public let id: LakeID
    public let store: Store
    private let session: any BlobUpload
    private var finished = false

    /// Starts the upload of `draft` (a PENDING_UPLOAD object). The session's lock is held before
    /// the row exists, so recovery never mistakes a live upload for an interrupted one.
    ///
    /// With a `receipt` (a new file in the mount's incoming/), the receipt is stored in the same
    /// transaction as the pending object (replacing the entry `replacing`) and goes with it if
    /// the upload never completes; `receiptNode` is its number.
    public init(store: Store, draft: LakeObject, receipt: Receipt? = nil, replacing: Int64? = nil) throws {
        self.store = store
        id = draft.id
        session = try store.blobs.beginUpload(session: id.rawValue)
        do {
            if let receipt {
                receiptNode = try store.catalog.createPendingObject(draft, receipt: receipt, replacing: replacing)
            } else {
                try store.catalog.createPendingObject(draft)
            }
        } catch {
            session.abort()
            throw error
        }
    }

    /// An upload known only by its file name (a file written into incoming/).
    public convenience init(store: Store, fileName: String, createdBy: String, receipt: Receipt? = nil, replacing: Int64? = nil) throws {
        let now = Timestamp.now
        try self.init(store: store, draft: LakeObject(
            id: LakeID.make(.object, at: now.milliseconds), name: fileName, description: "",
            file: ObjectFile(name: fileName, blob: nil), format: FileFormat(inferredFrom: fileName),
            status: .pendingUpload, createdAt: now, createdBy: createdBy), receipt: receipt, replacing: replacing)
    }

    /// The receipt stored with the pending object, if one was.
    public private(set) var receiptNode: Int64?

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
        try store.catalog.renamePendingObject(id, fileName: fileName, format: FileFormat(inferredFrom: fileName))
    }

    /// Durable bytes and an UPLOADED object, or an error and nothing. `linking` reads the
    /// stored bytes of a manifest and says what its references point at; they are recorded in
    /// the same transaction that makes the object UPLOADED.
    /// `receipt` gives the mount's receipt for the stored blob, recorded in the same transaction.
    public func commit(linking: ((ReadableFile) -> ManifestLinks?)? = nil, receipt: ((StoredBlob) -> Receipt?)? = nil) throws {
        guard !finished else { return }
        do {
            try store.blobs.withCommitGuard {
                let stored = try session.commit()
                let links = try linking.flatMap { link in link(try store.blobs.open(stored.id)) }
                try store.catalog.completeUpload(id, blob: BlobRecord(id: stored.id, size: stored.size, md5: nil),
                                                 at: .now, links: links, receipt: receipt?(stored))
                blobID = stored.id
            }
            finished = true
            session.release()
        } catch {
            abort()
            throw error
        }
    }

    public func abort() {
        guard !finished else { return }
        finished = true
        session.abort()
        _ = try? store.catalog.deletePendingObject(id)
    }
}
