#if canImport(Glibc)
import Glibc
#endif
import LakeBlobStore
import LakeModel
import LakeSystem
import Synchronization

/// The blobs of an account's own dataset mount (security.md): each is opened, read-only, by the
/// store's daemon (in a session acting for the account, which opens only the dataset's blobs)
/// and its descriptor handed over. Files are kept open for later opens, up to `keptOpen`.
public final class ServedBlobStore: BlobStore {
    static let keptOpen = 1024
    private let connection: Int32
    private let opened = Mutex<[String: ReadableFile]>([:])
    /// One request at a time on the connection.
    private let asking = Mutex<Void>(())

    public init(connection: Int32) {
        self.connection = connection
    }

    static let readOnly = BlobStoreError.io(SystemError("a dataset mount only reads", path: "", errno: EROFS))

    public func open(_ id: String) throws -> ReadableFile {
        if let file = opened.withLock({ $0[id] }) { return file }
        let fd: Int32 = try asking.withLock { _ in
            try UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.BlobRequest(blob: id)))
            guard let (payload, descriptors) = try UnixSocket.receive(connection) else {
                throw SystemError("open blob", path: id, errno: ECONNRESET)
            }
            let reply = try SessionProtocol.decode(SessionProtocol.Reply.self, payload)
            descriptors.dropFirst().forEach { Syscall.close($0) }
            guard reply.errno == 0, let fd = descriptors.first else {
                descriptors.forEach { Syscall.close($0) }
                throw SystemError("open blob", path: id, errno: reply.errno == 0 ? EPROTO : reply.errno)
            }
            return fd
        }
        defer { Syscall.close(fd) }
        let file = try ReadableFile(duplicating: fd, path: id)
        opened.withLock { files in
            if files.count >= Self.keptOpen, let any = files.keys.first { files[any] = nil }
            files[id] = file
        }
        return file
    }

    public func contains(_ id: String) -> Bool { (try? open(id)) != nil }
    public func size(of id: String) throws -> Int64? {
        do { return try open(id).size } catch let error as SystemError where error.errno == ENOENT { return nil }
    }
    public func uri(for id: String) -> String { "lake-blob:\(id)" }
    public func check(_ id: String, expectedSize: Int64) -> BlobCheck { presence(id, expectedSize: expectedSize) }

    public func beginUpload(session: String) throws -> any BlobUpload { throw Self.readOnly }
    public func delete(_ id: String) throws { throw Self.readOnly }
    public func allBlobIDs() throws -> [String] { opened.withLock { Array($0.keys) } }
    public func isUploadAlive(session: String) -> Bool { false }
    public func uploadSessions() throws -> [String] { [] }
    public func discardUpload(session: String) throws -> Bool { false }
    public func blobStored(byAbandoned session: String) -> String? { nil }
    public func withCommitGuard<T>(_ body: () throws -> T) throws -> T { throw Self.readOnly }
    public func withSweepGuard<T>(_ body: () throws -> T) throws -> T { throw Self.readOnly }
    public func settle() throws {}
    public func syncStored(_ id: String) throws { throw Self.readOnly }
    public func restore(_ id: String, bytes: [UInt8]) throws -> Bool { throw Self.readOnly }
}
