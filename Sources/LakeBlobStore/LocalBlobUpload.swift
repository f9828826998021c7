#if canImport(Glibc)
import Glibc
#endif
import Crypto
import LakeSystem

/// One upload into a `LocalBlobStore`: a spool file named by the session and by this process's
/// owner lock. The caller's thread hashes (SHA-256) while a writer thread copies the previous
/// chunk to the spool file. The first MiB is written in place, without the writer: most files
/// dropped into a lake are small, and a thread and 4 MiB of buffers per small file cost more
/// than they save.
final class LocalBlobUpload: BlobUpload {
    static let inlineBytes: Int64 = 1 << 20

    private let store: LocalBlobStore
    private let session: String
    private let partPath: String
    private var partFD: Int32 = -1
    /// The spool file again, with O_DIRECT, for the pipelined writer's whole chunks (-1 where
    /// the filesystem refuses direct I/O).
    private var directFD: Int32 = -1
    /// Started once the upload outgrows `inlineBytes`.
    private var writer: PipelinedWriter?
    /// Set when the bytes are final (committed, rewritten out of order, or dropped).
    private var writerClosed = false
    private var sha = SHA256()
    private(set) var bytesWritten: Int64 = 0
    /// Set once a write lands anywhere but at the end: the digest is then computed at commit.
    private var rehash = false

    init(store: LocalBlobStore, session: String) throws {
        self.store = store
        self.session = session
        do {
            partPath = store.partPath(session, owner: try store.ownerName())
            partFD = try Syscall.open(partPath, O_RDWR | O_CREAT | O_EXCL, 0o600)
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    deinit {
        if partFD >= 0 || directFD >= 0 { abort() }
    }

    private var activeWriter: PipelinedWriter {
        get throws {
            if let writer { return writer }
            guard !writerClosed, partFD >= 0 else { throw BlobStoreError.io(SystemError("write", path: partPath, errno: EBADF)) }
            directFD = Syscall.openDirect(partPath, O_WRONLY) ?? -1
            let started = PipelinedWriter(fd: partFD, directFD: directFD >= 0 ? directFD : nil, path: partPath, startingAt: bytesWritten)
            writer = started
            return started
        }
    }

    /// Waits for the writer's queue, if it ever started; no more pipelined writes after this.
    private func closeWriter() throws {
        writerClosed = true
        defer { writer = nil }
        try writer?.finish()
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            if writer == nil && !writerClosed && bytesWritten + Int64(bytes.count) <= Self.inlineBytes {
                guard partFD >= 0 else { throw SystemError("write", path: partPath, errno: EBADF) }
                try Syscall.pwriteAll(partFD, bytes, offset: bytesWritten, path: partPath)
                sha.update(bufferPointer: bytes)
                bytesWritten += Int64(bytes.count)
                return
            }
            let writer = try activeWriter
            var offset = 0
            while offset < bytes.count {
                let buffer = try writer.acquire()
                let count = min(buffer.count, bytes.count - offset)
                let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
                buffer.copyMemory(from: piece)
                sha.update(bufferPointer: piece)
                writer.submit(buffer, count: count)
                offset += count
                bytesWritten += Int64(count)
            }
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        if !rehash && offset == bytesWritten {
            try write(bytes)
            return
        }
        do {
            if !rehash {
                try closeWriter()
                rehash = true
            }
            var done = 0
            while done < bytes.count {
                let n = try Syscall.pwrite(partFD, UnsafeRawBufferPointer(rebasing: bytes[done...]),
                                           offset: offset + Int64(done), path: partPath)
                done += n
            }
            bytesWritten = max(bytesWritten, offset + Int64(bytes.count))
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    func truncate(to size: Int64) throws {
        do {
            if !rehash {
                try closeWriter()
                rehash = true
            }
            try Syscall.truncate(partFD, to: size, path: partPath)
            bytesWritten = size
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    func write(contentsOf file: ReadableFile, progress: (Int64) -> Void) throws {
        // A small file is copied in place: starting the writer's thread and its buffers cost
        // more than the copy (a thread per file when `lake upload` is given thousands).
        if file.size < Self.inlineBytes, writer == nil, bytesWritten == 0 {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(file.size) + 1, alignment: 16)
            defer { buffer.deallocate() }
            // One byte more than its size, so that a file that grew since it was opened is told
            // by a full read: the rest then goes through the writer as for a large file.
            let count: Int
            do { count = try file.read(into: buffer, at: 0) } catch { throw BlobStoreError.wrap(error) }
            try write(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            progress(bytesWritten)
            if count <= Int(file.size) { return }
        }
        do {
            let writer = try activeWriter
            var offset = bytesWritten
            while true {
                let buffer = try writer.acquire()
                let count: Int
                do { count = try file.read(into: buffer, at: offset) } catch {
                    writer.giveBack(buffer)
                    throw error
                }
                if count == 0 {
                    writer.giveBack(buffer)
                    return
                }
                sha.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                writer.submit(buffer, count: count)
                offset += Int64(count)
                bytesWritten += Int64(count)
                progress(bytesWritten)
            }
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    func commit() throws -> StoredBlob {
        try commit(waiting: true)
    }

    func commitUnsynced() throws -> StoredBlob {
        try commit(waiting: false)
    }

    private func commit(waiting: Bool) throws -> StoredBlob {
        do {
            try closeWriter()
            if rehash { bytesWritten = try Syscall.fileStatus(partPath).map { Int64($0.st_size) } ?? bytesWritten }
            let unsettled = !waiting && bytesWritten <= BlobSettling.maximumBytes
            let bytes = unsettled ? try readBack() : nil
            if waiting { try Syscall.fsync(partFD, path: partPath) }
            // Read-only before it gets its content name (on the descriptor: no path lookup).
            try Syscall.chmod(partFD, 0o444, path: partPath)
            if rehash {
                var again = SHA256()
                if let bytes {
                    again.update(data: bytes)
                } else {
                    let spooled = try ReadableFile(path: partPath)
                    try spooled.forEachChunk(chunkSize: 4 << 20) { again.update(bufferPointer: $0) }
                }
                sha = again
            }
            let sha256 = Digest.hex(sha.finalize())
            // The blob gets its name as a second link: the spool file keeps the session alive
            // (others' recovery sees its owner's lock) until `release`, after the catalog has
            // recorded the blob. When identical bytes are already stored, they are kept (if they
            // are themselves unsettled, their bytes wait in the catalog too).
            let fresh = try store.link(partPath, as: sha256)
            let folder = store.folder(of: sha256)
            if waiting || unsettled {
                Syscall.close(partFD)
                partFD = -1
                closeDirect()
                if waiting && fresh { try Syscall.fsyncDirectory(folder) }
                return StoredBlob(id: sha256, size: bytesWritten, unsettled: bytes)
            }
            // Identical bytes stored already may be another upload's, still unsynced: synced
            // here too, so that this upload never counts on a sync it did not wait for.
            let data: Int32 = fresh ? partFD : try Syscall.open(try store.path(of: sha256), O_RDONLY)
            if !fresh { Syscall.close(partFD) }
            partFD = -1
            closeDirect()
            let path = partPath
            let sync = BlobSync([
                { defer { Syscall.close(data) }; try Syscall.fdatasync(data, path: path) },
                { try Syscall.fsyncDirectory(folder) },
            ])
            return StoredBlob(id: sha256, size: bytesWritten, sync: sync)
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    /// The spool file's bytes (a small one's, still in the page cache).
    private func readBack() throws -> [UInt8] {
        let count = Int(bytesWritten)
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = try Syscall.pread(partFD, into: UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[done...]),
                                          offset: Int64(done), path: partPath)
                guard n > 0 else { throw SystemError("read back", path: partPath, errno: EIO) }
                done += n
            }
            initialized = count
        }
    }

    func release() {
        try? closeWriter()
        try? Syscall.unlinkIfPresent(partPath)
        if partFD >= 0 { Syscall.close(partFD); partFD = -1 }
        closeDirect()
    }

    private func closeDirect() {
        if directFD >= 0 { Syscall.close(directFD); directFD = -1 }
    }

    func abort() { release() }
}
