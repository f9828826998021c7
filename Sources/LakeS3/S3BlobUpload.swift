import LakeBlobStore
import LakeSystem

/// An upload to the bucket: spooled and hashed on this node by the cache's local store, then put.
final class S3BlobUpload: BlobUpload {
    let store: S3BlobStore
    let inner: any BlobUpload

    init(store: S3BlobStore, inner: any BlobUpload) {
        self.store = store
        self.inner = inner
    }

    var bytesWritten: Int64 { inner.bytesWritten }
    func write(_ bytes: UnsafeRawBufferPointer) throws { try inner.write(bytes) }
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws { try inner.write(bytes, at: offset) }
    func truncate(to size: Int64) throws { try inner.truncate(to: size) }
    func write(contentsOf file: ReadableFile, progress: (Int64) -> Void) throws { try inner.write(contentsOf: file, progress: progress) }

    /// The blob is durable once the bucket has it; the cache's copy (synced, so that a crash
    /// never leaves a torn file under a blob's name) serves this node's reads.
    func commit() throws -> StoredBlob {
        let local = try inner.commit()
        // Opened before the cache counts it: making room for it can then drop its name, never
        // the bytes this PUT reads.
        let file = try ReadableFile(path: try store.cache.local.filePath(of: local.id))
        store.cache.noteAdmitted(local.id, size: local.size)
        // Already there: these bytes rest on the bucket's copy, which gc on another machine may
        // be removing right now (`confirmStored`, after the commit, makes sure).
        if try !store.putNodeCopy(local.id, file) { store.noteDeduplicated(local.id) }
        return StoredBlob(id: local.id, size: local.size)
    }

    /// The bucket is the only durability that counts, and its PUT returns once it has the
    /// bytes: the same as `commit`.
    func commitUnsynced() throws -> StoredBlob { try commit() }

    func release() { inner.release() }
    func abort() { inner.abort() }
}
