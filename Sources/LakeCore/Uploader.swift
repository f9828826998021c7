#if canImport(Glibc)
import Glibc
#endif
import LakeBlobStore
import LakeCatalog
import LakeModel
import LakeSystem
import Logging

/// Turns a file into an object: a `PENDING_UPLOAD` row (not for a small file of a batch), the
/// bytes streamed into the blob store (hashed as they pass, never held whole in memory), then one
/// catalog transaction that records the blob and moves the object to `UPLOADED` (or inserts it
/// so); processing takes it on from there.
/// A failure at any point leaves no object and no partial blob.
public struct Uploader: Sendable {
    public let store: Store
    /// The caller's use, when lake.json sets quotas: read from the catalog once for all the
    /// files of one `lake upload`, and kept up to date with each stored.
    let quotas: QuotaLedger?
    /// Given by a command that stores many files (`lake upload`): their blobs are committed as
    /// the mount commits files written into incoming/ (`commitUnsynced`: a small one's bytes
    /// recorded in the catalog and its file synced with a batch, a larger one's syncs overlapped
    /// with its transaction), and a file of at most `recordedAtCommitBytes` gets its row with the
    /// commit. The caller stops the settler before it reports the objects stored.
    let settler: BlobSettler?
    /// Files up to this size have no `PENDING_UPLOAD` row while their bytes are copied (one
    /// transaction less each); a larger one is listed while it is being uploaded.
    public static let recordedAtCommitBytes: Int64 = 1 << 20

    public init(store: Store, settler: BlobSettler? = nil) {
        self.store = store
        self.settler = settler
        quotas = store.config.quotas == nil ? nil : QuotaLedger(store: store)
    }

    /// The uploading account owns the object, with the permission bits of the file it came from
    /// (a 0600 file stays private in the lake).
    func owner(of source: ReadableFile) -> Ownership {
        var info = stat()
        let mode = fstat(source.descriptor, &info) == 0 ? UInt32(info.st_mode) & 0o777 : 0o444
        let account = Account.current
        return Ownership(uid: account.uid, gid: account.gid, mode: store.config.objectMode(from: mode))
    }

    /// Uploads one file. `progress` is called with the bytes stored so far.
    public func upload(_ request: UploadRequest, progress: (Int64, Int64) -> Void = { _, _ in }) throws(UploadError) -> LakeObject {
        let path = request.path
        let source: ReadableFile
        do { source = try request.open() } catch {
            throw UploadError(path: path, reason: Self.describeSourceError(error, path: path), isNoSpace: false)
        }
        let uid = Account.current.uid
        if let quotas {
            do {
                try quotas.checkNewObject(uid: uid)
                try quotas.checkBytes(uid: uid, writing: source.size)
            } catch {
                throw UploadError(path: path, reason: "\(error)", isNoSpace: false)
            }
        }
        // A name that is not UTF-8 is kept as the mount keeps it: bytes that are not UTF-8 as `\xHH`.
        let fileName = request.pathBytes.map { PathBytes.text(PathBytes.lastComponent(of: $0)) } ?? Path.lastComponent(of: path)
        let format = FileFormat(inferredFrom: fileName)
        let now = Timestamp.now
        let id = LakeID.make(.object, at: now.milliseconds)
        let draft = LakeObject(
            id: id, name: request.name ?? fileName, description: request.description,
            file: ObjectFile(name: fileName, blob: nil), format: format, status: .pendingUpload,
            params: request.params, tags: request.tags, contentReferences: request.contentReferences,
            annotations: request.annotations, warnings: request.warnings,
            geometryUnits: request.geometryUnits, createdAt: now, createdBy: request.createdBy,
            owner: owner(of: source))

        var upload: StreamingUpload?
        do {
            let started = try StreamingUpload(store: store, draft: draft,
                                              recordedAtCommit: settler != nil && source.size <= Self.recordedAtCommitBytes)
            upload = started
            try started.write(contentsOf: source) { progress($0, source.size) }
            guard started.size == source.size else {
                throw UploadError(path: path, reason: "the file changed size while it was read (\(source.size) bytes "
                    + "at the start, \(started.size) read); upload it again once nothing writes to it", isNoSpace: false)
            }
            try started.commit(settler: settler)
            quotas?.stored(uid: uid, bytes: source.size)
        } catch {
            upload?.abort()
            if let error = error as? UploadError { throw error }
            throw UploadError(path: path, reason: "\(error)", isNoSpace: Self.isNoSpace(error))
        }
        store.logger.debug("uploaded", metadata: ["object": "\(id)", "path": "\(path)", "bytes": "\(source.size)"])
        do {
            guard let object = try store.catalog.object(id) else { throw CatalogError.notFound(id) }
            return object
        } catch {
            throw UploadError(path: path, reason: "stored as \(id), but reading it back failed: \(error)", isNoSpace: false)
        }
    }

    static func isNoSpace(_ error: any Error) -> Bool {
        StoreFailure.kind(of: error) == .noSpace
    }

    static func describeSourceError(_ error: any Error, path: String) -> String {
        guard let system = error as? SystemError else { return "\(error)" }
        switch system.errno {
        // Bytes that are not UTF-8 are kept (`RawArguments`) unless they were lost on the way.
        case ENOENT where path.contains("\u{FFFD}"):
            return "no such file (if its name holds bytes that are not UTF-8 and another argument differs from it only in "
                + "such bytes, which was meant cannot be told: upload it alone, or copy it into the mount's incoming/, where names are bytes)"
        case ENOENT: return "no such file"
        case EISDIR: return "is a directory; upload the files in it (for example `lake upload DIR/*`)"
        case EACCES, EPERM: return "permission denied: this user cannot read the file"
        default: return "cannot read the file: \(system)"
        }
    }
}
