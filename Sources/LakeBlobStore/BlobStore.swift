import Crypto
import LakeModel
import LakeSystem

/// A content-addressed store of immutable blobs named by the SHA-256 of their bytes.
///
/// Writes go through a `BlobUpload`: bytes stream to a spool area while being hashed; `commit()`
/// makes the blob durable under its content name. A blob becomes *referenced* only when the
/// catalog records it afterwards, so committing and recording must happen inside
/// `withCommitGuard`, and sweeping unreferenced blobs inside `withSweepGuard`: a sweep then never
/// removes a blob between its commit and its catalog record.
///
/// The local-directory implementation is `LocalBlobStore`; an S3 implementation slots in later.
public protocol BlobStore: Sendable {
    /// Starts an upload. `session` names it (the object id); it stays alive while this process holds it.
    func beginUpload(session: String) throws -> any BlobUpload
    /// Opens a blob for reading.
    func open(_ id: String) throws -> ReadableFile
    func contains(_ id: String) -> Bool
    func size(of id: String) throws -> Int64?
    func delete(_ id: String) throws
    /// Every blob present, for verification and garbage collection.
    func allBlobIDs() throws -> [String]
    /// Called after the catalog recorded an upload of `id`: makes sure the bytes it rests on are
    /// still stored (a bucket's copy that gc on another machine removed is put again).
    func confirmStored(_ id: String) throws
    /// Brings a blob onto this machine ahead of its readers (`lake dataset prefetch`): true when
    /// it was fetched, false when it was here already. `progress` gets the bytes fetched so far.
    func warm(_ id: String, progress: (Int64) -> Void) throws -> Bool
    /// The blobs stored before `cutoff`: what garbage collection may take as orphans when other
    /// machines upload to the same place (a blob put moments ago may be one whose catalog record
    /// is on its way).
    func blobIDs(storedBefore cutoff: Timestamp) throws -> [String]
    /// Where a blob lives, as a URI a person or tool can use.
    func uri(for id: String) -> String
    /// Whether an upload session is still held by a live writer.
    func isUploadAlive(session: String) -> Bool
    /// Upload sessions present in the spool (alive or not).
    func uploadSessions() throws -> [String]
    /// Removes an abandoned session's spool files; refuses a live one.
    func discardUpload(session: String) throws -> Bool
    /// The blob an abandoned session's upload was already stored as (its writer died after
    /// giving the bytes their blob name, perhaps before the catalog recorded them); nil when
    /// none, or when the session is alive.
    func blobStored(byAbandoned session: String) -> String?
    /// Re-reads a blob and checks its size and SHA-256 against its name.
    func check(_ id: String, expectedSize: Int64) -> BlobCheck
    /// The scrubber's check: what this machine serves of the blob, re-hashed (by default the
    /// blob itself, `check`).
    func scrub(_ id: String, expectedSize: Int64) -> BlobCheck
    /// A cheap look without re-hashing, made at every open of a stored file through the mount:
    /// the blob is there with its recorded size (by default from `size(of:)`).
    func presence(_ id: String, expectedSize: Int64) -> BlobCheck
    /// A copy of the blob this machine served was found damaged (by a read's re-hash): drops that
    /// copy if the blob's bytes are kept elsewhere too and can be fetched again, verified (true:
    /// the blob itself is not known to be damaged). False for a store whose copy is the only one.
    func discardServedCopy(_ id: String) -> Bool
    /// Whether a reader is waiting for blob bytes to arrive from elsewhere (a bucket): background
    /// work (the scrubber) gives way while it is. False for a store whose blobs are all local.
    var isFetching: Bool { get }
    /// Lets go of blob files this store keeps open whose files have been removed since (`lake
    /// gc`, a node cache making room): an open descriptor keeps a removed file's space in use.
    /// Returns how many went; stores that keep no file open have nothing to let go of.
    func releaseRemoved() -> Int
    func withCommitGuard<T>(_ body: () throws -> T) throws -> T
    func withSweepGuard<T>(_ body: () throws -> T) throws -> T
    /// Makes every blob file written so far durable (small blobs committed unsettled among them).
    func settle() throws
    /// Makes the blob `id` durable with exactly `bytes`: kept when the file is intact (and synced),
    /// else written again atomically (true). After a crash this restores blobs committed unsettled.
    @discardableResult
    func restore(_ id: String, bytes: [UInt8]) throws -> Bool
    /// Makes an intact blob's file and name durable (a blob committed unsynced by a process that
    /// died before its syncs ended, found intact in the page cache).
    func syncStored(_ id: String) throws
}

/// An upload in progress.
public protocol BlobUpload: AnyObject {
    var bytesWritten: Int64 { get }
    /// Appends bytes (hashed as they pass).
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Writes bytes at an offset (writes may arrive out of order through a filesystem); once a
    /// write is not at the end, the bytes are hashed again from the spool file at commit.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    /// Cuts or extends (with zeros, sparsely where the filesystem can) what was written so far
    /// to `size` bytes; the digest is then computed at commit.
    func truncate(to size: Int64) throws
    /// Appends a whole file, read straight into the writer's buffers; `progress` gets the
    /// bytes appended so far.
    func write(contentsOf file: ReadableFile, progress: (Int64) -> Void) throws
    /// fsyncs the bytes, moves them under their content name and fsyncs the folder. Identical
    /// content already stored is kept and the new copy dropped. Call inside `withCommitGuard`.
    func commit() throws -> StoredBlob
    /// As `commit()`, without waiting for a sync. A blob of at most `BlobSettling.maximumBytes`
    /// is moved into place unsynced and its bytes are handed back (`StoredBlob.unsettled`): the
    /// caller records them durably in the catalog, and `settle` later makes many such files
    /// durable at once (one sync per small file instead of three). A larger blob's syncs — its
    /// bytes, and its name in its folder — are started on other threads (`StoredBlob.sync`): the
    /// caller records the blob in the catalog meanwhile, as not yet known to be durable, and
    /// waits for them before saying it is stored (the three waits overlap instead of following
    /// each other). Call inside `withCommitGuard`.
    func commitUnsynced() throws -> StoredBlob
    /// Ends the session after the catalog recorded the blob (or after `abort`).
    func release()
    /// Drops everything written; the blob store is as before the upload.
    func abort()
}

/// A blob that is durably stored, named by the SHA-256 of its bytes.
public struct StoredBlob: Sendable, Equatable {
    public let id: String
    public let size: Int64
    /// The bytes of a small blob whose file is not yet known to be durable (`commitUnsynced`).
    public let unsettled: [UInt8]?
    /// The syncs still running for a larger blob committed unsynced.
    public let sync: BlobSync?
    public init(id: String, size: Int64, unsettled: [UInt8]? = nil, sync: BlobSync? = nil) {
        self.id = id
        self.size = size
        self.unsettled = unsettled
        self.sync = sync
    }

    public static func == (a: StoredBlob, b: StoredBlob) -> Bool { a.id == b.id && a.size == b.size }
}

/// Small blobs committed without syncing: their bytes wait in the catalog until one `syncfs`
/// has made many blob files durable at once (or are written again after a crash).
public enum BlobSettling {
    /// The largest blob kept in the catalog until settled. Larger ones are synced while the
    /// catalog records them (`BlobSync`): on this machine's disk (session 13, both ways mounted
    /// side by side) 1–8 KiB files copied faster with one sync each and their bytes in the
    /// catalog, 64 KiB files faster with three overlapped syncs (the catalog's log carried their
    /// bytes twice, and its checkpoints wrote them again).
    public static let maximumBytes: Int64 = 32 * 1024
}

/// Errors of the blob store, typed so callers can tell a full disk from other failures.
public enum BlobStoreError: Error, Sendable, CustomStringConvertible {
    case noSpace(SystemError)
    case io(SystemError)
    case invalidID(String)
    case corruptBlob(id: String, actual: String)
    /// Found missing or damaged earlier (the catalog records it); never served until verified intact.
    case damaged(id: String, reason: String)

    public var description: String {
        switch self {
        case .noSpace(let error): "no space left on the store's disk (\(error))"
        case .io(let error): "storage error: \(error)"
        case .invalidID(let id): "'\(id)' is not a blob id (64 lower-case hex digits)"
        case .corruptBlob(let id, let actual):
            "the stored bytes of blob \(id) are damaged (they hash to \(actual)); run `lake verify`"
        case .damaged(let id, let reason):
            "blob \(id) was found damaged (\(reason)); it is not served until `lake verify` finds it intact again"
        }
    }

    static func wrap(_ error: any Error) -> any Error {
        guard let system = error as? SystemError else { return error }
        return system.isNoSpace ? BlobStoreError.noSpace(system) : BlobStoreError.io(system)
    }
}


extension BlobStore {
    /// A store one machine writes to (a local folder, a dataset mount's) has no uploads of
    /// others to wait for: its sweep guard keeps its own commits safe.
    public func blobIDs(storedBefore cutoff: Timestamp) throws -> [String] { try allBlobIDs() }
    /// One machine's store: its sweep guard keeps its commits and gc apart.
    public func confirmStored(_ id: String) throws {}
    /// A store whose blobs are on this machine has nothing to fetch.
    public func warm(_ id: String, progress: (Int64) -> Void) throws -> Bool { false }

    /// Streams a blob's bytes to `sink`, re-hashing them; throws `corruptBlob` at the end when
    /// the bytes do not match the blob's name, so a reader never trusts damaged data silently.
    public func stream(_ id: String, chunkSize: Int = 1 << 20, into sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        let file = try open(id)
        var sha = SHA256()
        try file.forEachChunk(chunkSize: chunkSize) { chunk in
            sha.update(bufferPointer: chunk)
            try sink(chunk)
        }
        let actual = Digest.hex(sha.finalize())
        guard actual == id else { throw BlobStoreError.corruptBlob(id: id, actual: actual) }
    }

    /// The MD5 of a blob (Luminary's `Hash.md5` and the S3 `etag`). Computed after upload, off
    /// the upload's critical path: MD5 runs at about half the speed of SHA-256 with SHA-NI.
    public func md5(of id: String) throws -> String {
        let file = try open(id)
        var md5 = Insecure.MD5()
        try file.forEachChunk(chunkSize: 4 << 20) { md5.update(bufferPointer: $0) }
        return Digest.hex(md5.finalize())
    }
}

extension BlobStore {
    public var isFetching: Bool { false }

    public func discardServedCopy(_ id: String) -> Bool { false }

    public func releaseRemoved() -> Int { 0 }

    public func scrub(_ id: String, expectedSize: Int64) -> BlobCheck { check(id, expectedSize: expectedSize) }

    public func presence(_ id: String, expectedSize: Int64) -> BlobCheck {
        do {
            guard let size = try size(of: id) else { return .missing }
            return size == expectedSize ? .intact : .corrupt("its size is \(size) bytes, the catalog recorded \(expectedSize)")
        } catch {
            return .corrupt("it cannot be examined: \(error)")
        }
    }
}
