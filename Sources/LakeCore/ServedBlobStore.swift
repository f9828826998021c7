#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LakeBlobStore
import LakeCatalog
import LakeModel
import LakeSystem
import Logging
import Synchronization

/// The blobs of an account's own dataset mount (security.md): each is opened, read-only, by the
/// store's daemon (in a session acting for the account, which opens only the dataset's blobs)
/// and its descriptor handed over. Files are kept open for later opens (the mount's checks and
/// its open of the same blob follow each other), up to `keptOpen` files and `bytesKept` bytes,
/// least recently used first. The store's daemon does not know what this process holds: a file
/// it removes (`lake gc`, a node cache making room or dropping a damaged copy) is neither handed
/// out again nor kept once found removed, or its space would stay in use until the unmount.
///
/// The session outlives nothing of the daemon's: a restart (`systemctl restart`, an upgrade)
/// ends it. A lost session is asked for again — the grant checked anew — and an open made while
/// no daemon answers waits up to `waitForDaemon` for one, so a loader's epoch is not broken by a
/// restart; past that, opens fail (EIO) at once until a daemon answers again.
public final class ServedBlobStore: BlobStore {
    /// Asks the store's daemon for a new session of the same dataset: its connection.
    public typealias Renewal = @Sendable () throws -> Int32
    /// Long enough for a restart (systemd's `RestartSec=2` and a daemon's start).
    static let waitForDaemon: Duration = .seconds(10)
    /// 1,024 files, but no more than a quarter of the descriptors the process may hold (the
    /// mount's own handles take another quarter; past the limit every open fails).
    let keptOpen = min(1024, max(16, Syscall.descriptorLimit() / 4))
    /// A node cache cannot free what this process holds, so files kept here must not add up to
    /// more than a loader's working set (as the mount's own descriptors, `OpenFiles`).
    static let bytesKept: Int64 = 1 << 30
    private struct Session {
        var connection: Int32
        /// When the session was found lost, until a new one is had.
        var lostAt: ContinuousClock.Instant?
        /// When the daemon last refused a new session: it is not asked again (a session is a
        /// process it starts) until `waitForDaemon` has passed.
        var refusedAt: ContinuousClock.Instant?
    }
    /// One request at a time on the connection.
    private let session: Mutex<Session>
    private let renewal: Renewal?
    private let logger: Logger
    private struct Kept {
        var files: [String: (file: ReadableFile, lastUse: UInt64)] = [:]
        var bytes: Int64 = 0
        var clock: UInt64 = 0
    }
    private let kept = Mutex(Kept())

    public init(connection: Int32, renewal: Renewal?, logger: Logger) {
        session = Mutex(Session(connection: connection))
        self.renewal = renewal
        self.logger = logger
    }

    static let readOnly = BlobStoreError.io(SystemError("a dataset mount only reads", path: "", errno: EROFS))

    public func open(_ id: String) throws -> ReadableFile {
        if let file = keptFile(id) { return file }
        let (reply, descriptors) = try ask(SessionProtocol.BlobRequest(blob: id))
        descriptors.dropFirst().forEach { Syscall.close($0) }
        guard reply.errno == 0, let fd = descriptors.first else {
            descriptors.forEach { Syscall.close($0) }
            if let why = reply.message { logger.error("the store's mount daemon no longer serves this dataset: \(why)") }
            throw SystemError("open blob", path: id, errno: reply.errno == 0 ? EPROTO : reply.errno)
        }
        defer { Syscall.close(fd) }
        let file = try ReadableFile(duplicating: fd, path: id)
        keep(id, file)
        return file
    }

    /// The copy of `id` this mount was handed read damaged: the store's daemon is told, checks
    /// its copy and drops it (a bucket's cached copy) or records the damage. True unless it
    /// recorded it (or could not be asked): the next open asks for the blob again.
    public func discardServedCopy(_ id: String) -> Bool {
        if let file = kept.withLock({ $0.files[id]?.file }) { forget(id, file) }
        guard let (reply, descriptors) = try? ask(SessionProtocol.BlobRequest(blob: id, readDamaged: true)) else { return false }
        descriptors.forEach { Syscall.close($0) }
        return reply.errno == 0 && reply.recorded == false
    }

    /// One request to the store's daemon and its reply, with the descriptors it carried; on a
    /// new session if the connection is found lost (requests are safe to ask twice).
    private func ask(_ request: SessionProtocol.BlobRequest) throws -> (SessionProtocol.Reply, [Int32]) {
        try session.withLock { session in
            var renewed = false
            while true {
                if session.connection < 0 {
                    try renew(&session)
                    renewed = true
                }
                do {
                    try UnixSocket.send(session.connection, SessionProtocol.encode(request))
                    guard let (payload, descriptors) = try UnixSocket.receive(session.connection) else {
                        throw SystemError("open blob", path: request.blob, errno: ECONNRESET)
                    }
                    let reply: SessionProtocol.Reply
                    do {
                        reply = try SessionProtocol.decode(SessionProtocol.Reply.self, payload)
                    } catch {
                        descriptors.forEach { Syscall.close($0) }
                        throw error
                    }
                    // The daemon's word that the session's process ended (killed, or the grant
                    // went) arrives before the connection closes: it answers nothing asked.
                    guard reply.exit == nil else {
                        descriptors.forEach { Syscall.close($0) }
                        throw SystemError("open blob", path: request.blob, errno: ECONNRESET)
                    }
                    return (reply, descriptors)
                } catch let error as SystemError where [EPIPE, ECONNRESET, ENOTCONN].contains(error.errno) && !renewed && renewal != nil {
                    Syscall.close(session.connection)
                    session.connection = -1
                }
            }
        }
    }

    /// A new session, asked until one is had or `waitForDaemon` has passed since the session
    /// was lost (then once per call). A daemon that refuses (the account may no longer read the
    /// dataset) is not asked again for as long: the open fails.
    private func renew(_ session: inout Session) throws {
        guard let renewal else { throw SystemError("open blob", path: "", errno: ECONNRESET) }
        if let refused = session.refusedAt, ContinuousClock.now < refused + Self.waitForDaemon {
            throw SystemError("the store's mount daemon refused this dataset", path: "", errno: EACCES)
        }
        if session.lostAt == nil {
            session.lostAt = .now
            logger.warning("the store's mount daemon went away; opens wait up to \(Self.waitForDaemon) for it to come back")
        }
        let deadline = session.lostAt! + Self.waitForDaemon
        while true {
            do {
                session.connection = try renewal()
                session.lostAt = nil
                session.refusedAt = nil
                logger.info("the store's mount daemon serves this mount again (a new session)")
                return
            } catch CatalogError.refused(let why) {
                session.refusedAt = .now
                logger.error("the store's mount daemon no longer serves this dataset: \(why); files not read before cannot be read (unmount)")
                throw SystemError("the store's mount daemon refused this dataset", path: "", errno: EACCES)
            } catch {
                guard ContinuousClock.now < deadline else {
                    throw SystemError("the store's mount daemon has not answered since it went away", path: "", errno: EIO)
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
    }

    /// Lets go of the session (the unmount): the daemon ends it.
    public func endSession() {
        session.withLock { session in
            if session.connection >= 0 { Syscall.close(session.connection) }
            session.connection = -1
        }
    }

    /// A kept file of `id` that still has its name; one removed since is forgotten, so the blob
    /// is asked for again (a node cache that dropped a damaged copy fetches it afresh).
    private func keptFile(_ id: String) -> ReadableFile? {
        guard let file = kept.withLock({ state -> ReadableFile? in
            guard let entry = state.files[id] else { return nil }
            state.clock += 1
            state.files[id]!.lastUse = state.clock
            return entry.file
        }) else { return nil }
        guard Syscall.isUnlinked(file.descriptor) else { return file }
        forget(id, file)
        return nil
    }

    private func keep(_ id: String, _ file: ReadableFile) {
        kept.withLock { state in
            state.clock += 1
            if let old = state.files[id] { state.bytes -= old.file.size }
            state.files[id] = (file, state.clock)
            state.bytes += file.size
            while state.files.count > 1, state.files.count > keptOpen || state.bytes > Self.bytesKept {
                // The least recently used goes (a scan: at most `keptOpen` entries, and only past a bound).
                guard let oldest = state.files.min(by: { $0.value.lastUse < $1.value.lastUse }) else { break }
                state.files[oldest.key] = nil
                state.bytes -= oldest.value.file.size
            }
        }
    }

    private func forget(_ id: String, _ file: ReadableFile) {
        kept.withLock { state in
            guard state.files[id]?.file === file else { return }
            state.files[id] = nil
            state.bytes -= file.size
        }
    }

    /// Files kept whose names are gone go (checked outside the lock, so opens are not held up).
    public func releaseRemoved() -> Int {
        let files = kept.withLock { $0.files.map { ($0.key, $0.value.file) } }
        var released = 0
        for (id, file) in files where Syscall.isUnlinked(file.descriptor) {
            forget(id, file)
            released += 1
        }
        return released
    }

    /// Files kept open, and their bytes (tests).
    var keptCount: (files: Int, bytes: Int64) { kept.withLock { ($0.files.count, $0.bytes) } }

    public func contains(_ id: String) -> Bool { (try? open(id)) != nil }
    public func size(of id: String) throws -> Int64? {
        do { return try open(id).size } catch let error as SystemError where error.errno == ENOENT { return nil }
    }
    public func uri(for id: String) -> String { "lake-blob:\(id)" }
    public func check(_ id: String, expectedSize: Int64) -> BlobCheck { presence(id, expectedSize: expectedSize) }
    /// A blob the daemon could not be asked for, or would not hand over, is unavailable, not
    /// damaged: the mount must not stop serving it for good over a restart of the daemon.
    public func presence(_ id: String, expectedSize: Int64) -> BlobCheck {
        do {
            let size = try open(id).size
            return size == expectedSize ? .intact : .corrupt("its size is \(size) bytes, the catalog recorded \(expectedSize)")
        } catch let error as SystemError where error.isNotFound {
            return .missing
        } catch {
            return .unavailable("\(error)")
        }
    }

    public func beginUpload(session: String) throws -> any BlobUpload { throw Self.readOnly }
    public func delete(_ id: String) throws { throw Self.readOnly }
    public func allBlobIDs() throws -> [String] { kept.withLock { Array($0.files.keys) } }
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
