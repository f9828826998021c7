import Crypto
import Foundation
import LakeBlobStore
import LakeModel
import LakeSystem
import Synchronization

/// Blobs in an S3 bucket, `<prefix>blobs/<sha256>`, with a folder on this node that spools
/// uploads and keeps whole blobs read from the bucket (`NodeCache`).
///
/// A blob is stored once the bucket has it: `commit` writes the spool file into the cache (so
/// the node that uploaded a file reads it from its own disk) and then puts it with
/// `If-None-Match: *` (content-addressed keys never change, so a 412 means the same bytes are
/// there already). A read of a blob the cache lacks fetches it in ranges into a hidden file,
/// hashing on the way; only bytes whose SHA-256 is the blob's name are given the blob's name
/// in the cache, so damaged bytes are never served, and a damaged cache file is dropped and
/// fetched again (`dropCached`). The bucket is the truth: `check`, `contains`, `size(of:)` and
/// `allBlobIDs` ask it.
public final class S3BlobStore: BlobStore {
    public let client: S3Client
    /// Key prefix inside the bucket (empty, or ending in "/").
    public let prefix: String
    public let cache: NodeCache
    /// A fetch reports its progress at most once per this many bytes.
    static let progressStep = 8 << 20
    /// Fetches under way, by blob: a reader of a blob being fetched waits for that fetch (a
    /// loader's workers opening one file at once download it once).
    private let fetches = Mutex<[String: FetchInProgress]>([:])
    /// Blobs this node's uploads found in the bucket already, until their commits confirm them.
    private let deduplicated = Mutex<Set<String>>([])
    /// Blobs this process downloaded (for tests).
    let downloads = Atomic<Int>(0)

    /// The store whose blobs these are: `PREFIX/lake-store.json` names it, and nothing is
    /// deleted under a prefix that names another (`claim`).
    public let storeID: String
    /// Whether the prefix was found to be this store's (checked once, before the first delete).
    private let confirmed = Atomic<Bool>(false)

    public init(client: S3Client, prefix: String, cache: NodeCache, storeID: String) {
        self.client = client
        self.prefix = Self.normalized(prefix)
        self.cache = cache
        self.storeID = storeID
    }

    static func normalized(_ prefix: String) -> String { prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/" }

    /// A prefix holding another store's blobs.
    public struct NotOurs: Error, CustomStringConvertible {
        public var description: String
    }

    /// Makes `prefix` store `storeID`'s (`PREFIX/lake-store.json`, put once), or finds it is
    /// already. Two stores on one prefix would each take the other's blobs for unused ones and
    /// let `lake gc` delete them: a prefix that names another store is refused.
    public static func claim(_ client: S3Client, prefix: String, storeID: String) throws {
        let key = normalized(prefix) + "lake-store.json"
        let marker = Data(#"{"store_id": "\#(storeID)"}"#.utf8)
        if try client.put(key, data: marker) { return }
        guard let found = try client.get(key) else { return try claim(client, prefix: prefix, storeID: storeID) }
        let owner = (try? JSONSerialization.jsonObject(with: found) as? [String: Any])?["store_id"] as? String
        guard owner == storeID else {
            throw NotOurs(description: "s3://\(client.bucket)/\(normalized(prefix)) holds the blobs of \(owner.map { "store \($0)" } ?? "something that is not a Lake store"); "
                + "give this store a prefix of its own (s3://\(client.bucket)/OTHER-PREFIX?…)")
        }
    }

    func key(_ id: String) -> String { prefix + "blobs/" + id }

    static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 64 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    func validated(_ id: String) throws -> String {
        guard Self.isValidID(id) else { throw BlobStoreError.invalidID(id) }
        return id
    }

    // MARK: BlobStore

    public func beginUpload(session: String) throws -> any BlobUpload {
        S3BlobUpload(store: self, inner: try cache.local.beginUpload(session: session))
    }

    public func open(_ id: String) throws -> ReadableFile {
        let id = try validated(id)
        if let cached = cache.open(id) { return cached }
        try fetch(id)
        guard let cached = cache.open(id) else { throw BlobStoreError.damaged(id: id, reason: "it left the node's cache as it arrived") }
        return cached
    }

    public var isFetching: Bool { fetches.withLock { !$0.isEmpty } }

    /// The node's cached copy went bad (a read's re-hash found it): it goes, and the next read
    /// fetches the blob again from the bucket, verified; the bucket's copy is not in question.
    public func discardServedCopy(_ id: String) -> Bool {
        guard Self.isValidID(id) else { return false }
        cache.drop(id)
        return true
    }

    /// Puts this node's copy of blob `id` (false: the bucket had it). Bytes that are not the
    /// blob's are never put (`S3Client.put` checks them on the way), and such a copy is dropped:
    /// it changed after it was hashed, and is no copy of the blob.
    @discardableResult
    func putNodeCopy(_ id: String, _ file: ReadableFile) throws -> Bool {
        do {
            return try client.put(key(id), file: file, sha256: id)
        } catch BlobStoreError.corruptBlob(let id, let actual) {
            cache.drop(id)
            throw BlobStoreError.corruptBlob(id: id, actual: actual)
        }
    }

    func noteDeduplicated(_ id: String) { deduplicated.withLock { _ = $0.insert(id) } }

    /// After the catalog recorded an upload whose PUT found the blob in the bucket already: the
    /// bucket still has it, or it is put again from this node's copy. gc removes blobs while it
    /// holds the catalog's write lock, and the commit took that lock after it: whatever gc
    /// removed is gone by now, and from now on the blob is referenced, so nothing removes it.
    public func confirmStored(_ id: String) throws {
        guard deduplicated.withLock({ $0.remove(id) }) != nil else { return }
        if try client.head(key(id)) != nil { return }
        guard let file = cache.open(id) else {
            throw BlobStoreError.damaged(id: id, reason: "the bucket lost it to a concurrent gc and this node's copy is gone too")
        }
        do {
            try putNodeCopy(id, file)
        } catch BlobStoreError.corruptBlob(let id, let actual) {
            throw BlobStoreError.damaged(id: id, reason: "the bucket lost it to a concurrent gc and this node's copy "
                                         + "hashes to \(actual): no copy is left")
        }
    }

    public func warm(_ id: String, progress: (Int64) -> Void) throws -> Bool {
        if cache.open(try validated(id)) != nil { return false }
        try fetch(id, progress: progress)
        return true
    }

    /// Brings a blob into the cache (nothing when it is there), verified; `progress` gets the
    /// bytes fetched so far (by the caller whose fetch it is; another waits for that one).
    public func fetch(_ id: String, progress: (Int64) -> Void = { _ in }) throws {
        let id = try validated(id)
        if cache.open(id) != nil { return }
        let (flight, isOurs) = fetches.withLock { fetches -> (FetchInProgress, Bool) in
            if let running = fetches[id] { return (running, false) }
            let started = FetchInProgress()
            fetches[id] = started
            return (started, true)
        }
        guard isOurs else { return try flight.wait() }
        var failure: (any Error)?
        do { try download(id, progress: progress) } catch { failure = error }
        fetches.withLock { $0[id] = nil }
        flight.finish(failure)
        if let failure { throw failure }
    }

    private func download(_ id: String, progress: (Int64) -> Void) throws {
        downloads.add(1, ordering: .relaxed)
        guard let size = try client.head(key(id)) else {
            throw BlobStoreError.io(SystemError("S3 GET", path: key(id), errno: ENOENT))
        }
        try cache.admit(id, size: size) { file in
            var found = true
            let digest = try FetchPipeline.hashing(writingTo: file) { pipeline in
                found = try receive(id, size: size, progress: progress) { piece in try pipeline.append(piece) }
            }
            guard found else { throw BlobStoreError.io(SystemError("S3 GET (the blob went)", path: key(id), errno: ENOENT)) }
            guard digest == id else { throw BlobStoreError.corruptBlob(id: id, actual: digest) }
        }
    }

    /// Streams the bucket's `size` bytes of a blob, each piece given to `take` in order as it
    /// arrives; false when the bucket has no such blob. One request for the whole blob (the
    /// network fills the socket's buffer while a piece is taken); a request that fails in a way
    /// that may pass is followed by one for the rest, from the first byte not yet taken, so
    /// `take` is given every byte exactly once.
    /// The first version asked for 8 MiB at a time, each gathered whole before it was hashed;
    /// the server's cost per request and the waits between them made a 512 MiB fetch take 1.7
    /// times a plain download.
    private func receive(_ id: String, size: Int64, progress: (Int64) -> Void = { _ in },
                         take: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var position: Int64 = 0
        var reported: Int64 = 0
        var failures = 0
        var delay = 0.1
        while position < size {
            let start = position
            do {
                let found = try client.stream(key(id), range: position..<size) { piece in
                    guard position + Int64(piece.count) <= size else {
                        throw BlobStoreError.io(SystemError("S3 GET (the blob came back longer than it is)", path: key(id), errno: EIO))
                    }
                    try take(piece)
                    position += Int64(piece.count)
                    if position - reported >= Int64(Self.progressStep) || position == size {
                        reported = position
                        progress(position)
                    }
                }
                guard found else { return false }
                guard position == size else {
                    throw BlobStoreError.io(SystemError("S3 GET (the blob came back short)", path: key(id), errno: EIO))
                }
            } catch let failure as S3Client.Failure where failure.mayPass {
                // Consecutive failures without a byte of progress are what is limited.
                failures = position > start ? 1 : failures + 1
                if position > start { delay = 0.1 }
                guard failures < client.attempts else { throw failure }
                usleep(useconds_t(delay * 1_000_000))
                delay *= 4
            }
        }
        return true
    }

    /// The scrubber's look at a blob on this node: its cached copy, what the mount serves
    /// without checking, re-hashed; a damaged one is dropped, and the next read fetches the blob
    /// again, verified, so the blob itself is intact. A blob the node does not hold has nothing
    /// here that can rot. The bucket's copies are checked by `lake verify` (`check`): a scrubber
    /// on every node re-reading every blob from the bucket would multiply the bucket's traffic
    /// by the nodes, and took the server from a reader's fetch.
    public func scrub(_ id: String, expectedSize: Int64) -> BlobCheck {
        _ = checkCached(id)
        return .intact
    }

    /// Hashes this node's cached copy; a damaged one is dropped (the next read fetches the blob
    /// again). `.missing` when the cache does not hold it.
    public func checkCached(_ id: String) -> BlobCheck {
        guard let file = cache.open(id) else { return .missing }
        var sha = SHA256()
        do {
            try file.forEachChunk(chunkSize: 4 << 20) { sha.update(bufferPointer: $0) }
        } catch {
            cache.drop(id)
            return .corrupt("the cached copy cannot be read: \(error)")
        }
        let digest = Digest.hex(sha.finalize())
        guard digest == id else {
            cache.drop(id)
            return .corrupt("the cached copy hashes to \(digest)")
        }
        return .intact
    }

    public func contains(_ id: String) -> Bool {
        guard Self.isValidID(id) else { return false }
        return ((try? client.head(key(id))) ?? nil) != nil
    }

    public func size(of id: String) throws -> Int64? {
        try client.head(key(try validated(id)))
    }

    public func delete(_ id: String) throws {
        let id = try validated(id)
        if !confirmed.load(ordering: .relaxed) {
            try Self.claim(client, prefix: prefix, storeID: storeID)
            confirmed.store(true, ordering: .relaxed)
        }
        try client.delete(key(id))
        cache.drop(id)
    }

    public func allBlobIDs() throws -> [String] {
        try listBlobs().map(\.id)
    }

    /// By the bucket's own time of each PUT; a key the server gives no time for counts as new.
    public func blobIDs(storedBefore cutoff: Timestamp) throws -> [String] {
        try listBlobs().filter { ($0.modified?.microseconds ?? .max) < cutoff.microseconds }.map(\.id)
    }

    private func listBlobs() throws -> [(id: String, modified: Timestamp?)] {
        let folder = prefix + "blobs/"
        return try client.list(prefix: folder).compactMap { item in
            let id = String(item.key.dropFirst(folder.count))
            return Self.isValidID(id) ? (id, item.modified) : nil
        }.sorted { $0.id < $1.id }
    }

    public func uri(for id: String) -> String { "s3://\(client.bucket)/\(key(id))" }

    public func isUploadAlive(session: String) -> Bool { cache.local.isUploadAlive(session: session) }
    public func uploadSessions() throws -> [String] { try cache.local.uploadSessions() }
    public func discardUpload(session: String) throws -> Bool { try cache.local.discardUpload(session: session) }

    /// A dead writer's part linked into the cache counts only once the bucket has it too (the
    /// writer may have died between the two).
    public func blobStored(byAbandoned session: String) -> String? {
        guard let id = cache.local.blobStored(byAbandoned: session) else { return nil }
        if contains(id) { return id }
        // Put it now: its bytes are whole (`blobStored` hashed them), and the catalog may record them.
        guard let file = cache.open(id), (try? putNodeCopy(id, file)) != nil else { return nil }
        return id
    }

    /// At every open through the mount, without asking the bucket (a request per open, and
    /// every open failing while the bucket is away): a cached copy of another size is dropped,
    /// and the open fetches the blob again, verified, as it does one not cached.
    public func presence(_ id: String, expectedSize: Int64) -> BlobCheck {
        if let cached = cache.open(id), cached.size != expectedSize { cache.drop(id) }
        return .intact
    }

    /// Reads the bucket's copy whole and hashes it as it arrives. A bucket that does not answer (down,
    /// refusing the key) says nothing of the bytes: `.unavailable`, never damage.
    public func check(_ id: String, expectedSize: Int64) -> BlobCheck {
        guard Self.isValidID(id) else { return .corrupt("'\(id)' is not a blob id") }
        do {
            guard let size = try client.head(key(id)) else { return .missing }
            guard size == expectedSize else { return .corrupt("size is \(size) bytes, the catalog recorded \(expectedSize)") }
            var found = true
            let digest = try FetchPipeline.hashing(writingTo: nil) { pipeline in
                found = try receive(id, size: size) { piece in try pipeline.append(piece) }
            }
            guard found else { return .missing }
            return digest == id ? .intact : .corrupt("content hashes to \(digest), not to its name")
        } catch {
            return .unavailable("the bucket did not answer: \(error)")
        }
    }

    /// Node-local: a commit and a sweep on this node exclude each other; other nodes' uploads
    /// are protected by the catalog (gc removes only blobs unreferenced for a grace period).
    public func withCommitGuard<T>(_ body: () throws -> T) throws -> T { try cache.local.withCommitGuard(body) }
    public func withSweepGuard<T>(_ body: () throws -> T) throws -> T { try cache.local.withSweepGuard(body) }

    /// Nothing to do: a blob is stored when the bucket answered its PUT.
    public func settle() throws {}

    public func restore(_ id: String, bytes: [UInt8]) throws -> Bool {
        let id = try validated(id)
        if try client.head(key(id)) == Int64(bytes.count) { return false }
        return try client.put(key(id), data: Data(bytes), sha256: id)
    }

    public func syncStored(_ id: String) throws {}
}

/// One fetch that other readers of the same blob wait for.
final class FetchInProgress: Sendable {
    private let state = NSCondition()
    // Read and written only with `state` locked.
    nonisolated(unsafe) private var done = false
    nonisolated(unsafe) private var failure: (any Error)?

    func finish(_ failure: (any Error)?) {
        state.lock()
        done = true
        self.failure = failure
        state.broadcast()
        state.unlock()
    }

    func wait() throws {
        state.lock()
        defer { state.unlock() }
        while !done { state.wait() }
        if let failure { throw failure }
    }
}
