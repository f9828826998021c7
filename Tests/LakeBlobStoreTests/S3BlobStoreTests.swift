import Crypto
import Foundation
import Synchronization
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeBlobStore
@testable import LakeS3

/// What the S3 blob store adds to the conformance suite: two nodes (two caches) on one bucket of
/// a real SeaweedFS, bytes verified on their way into a cache, the cache's limit, and what a node
/// can still read when the server is gone.
@Suite struct S3BlobStoreTests {
    /// Node B fetches what node A stored once, verified, and then reads it from its own disk,
    /// even with the server gone; what it never fetched then fails with an error, never bytes.
    @Test func aBlobStoredOnOneNodeIsFetchedOnceByAnother() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-nodes")
        let a = try server.blobStore(cache: folder.file("a")), b = try server.blobStore(cache: folder.file("b"))
        let bytes = randomBytes(9 << 20 + 3)   // progress reported twice
        let stored = try put(a, bytes, session: "one")
        let other = try put(a, randomBytes(1000), session: "two")
        #expect(a.cache.contains(stored.id) && !b.cache.contains(stored.id))
        #expect(try b.contains(stored.id) && b.size(of: stored.id) == Int64(bytes.count))
        var reported: [Int64] = []
        try b.fetch(stored.id) { reported.append($0) }
        // Once past each 8 MiB (when the piece that crossed it arrived), and at the end.
        #expect(reported.count == 2 && reported[0] >= 8 << 20 && reported[0] < Int64(bytes.count) && reported[1] == Int64(bytes.count), "\(reported)")
        #expect(b.cache.contains(stored.id) && b.cache.bytes == Int64(bytes.count))
        #expect(try Syscall.listDirectory(folder.file("b/fetching")).isEmpty)
        server.stop()
        #expect(try b.open(stored.id).bytes(at: 0, count: bytes.count) == bytes)
        #expect(throws: (any Error).self) { try b.open(other.id) }
        #expect(!b.cache.contains(other.id))
        // A bucket that does not answer says nothing of the bytes: not damage (the scrubber and
        // `lake verify` record nothing), and opens through the mount do not ask it.
        guard case .unavailable = b.check(other.id, expectedSize: 1000) else {
            Issue.record("an unreachable bucket was reported as \(b.check(other.id, expectedSize: 1000))")
            return
        }
        #expect(b.presence(stored.id, expectedSize: Int64(bytes.count)) == .intact)
        #expect(b.presence(other.id, expectedSize: 1000) == .intact)
    }

    /// Node B stores bytes the bucket has already (its PUT answers 412) while gc on node A
    /// removes that copy (A saw no object use it): once B's catalog commit is done, `confirmStored`
    /// finds the key gone and puts B's copy again. A blob B put itself is not asked about.
    @Test func bytesThatRestedOnAVanishedCopyArePutAgain() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-confirm")
        let a = try server.blobStore(cache: folder.file("a")), b = try server.blobStore(cache: folder.file("b"))
        let bytes = randomBytes(20 << 20 + 5)   // multipart
        let first = try put(a, bytes, session: "first")
        let again = try put(b, bytes, session: "again")   // found there: deduplicated
        #expect(again.id == first.id)
        try a.delete(first.id)                              // gc elsewhere, before B's commit
        #expect(try !b.contains(again.id))
        try b.confirmStored(again.id)
        #expect(try b.contains(again.id) && b.size(of: again.id) == Int64(bytes.count))
        let fresh = TemporaryDirectory("s3-confirm-c")
        let c = try server.blobStore(cache: fresh.file("c"))
        #expect(try c.open(again.id).bytes(at: 0, count: bytes.count) == bytes, "the bytes put again are the blob's")
        // Confirmed once: a second confirmation (or one of a blob this node put new) asks nothing.
        server.stop()
        try b.confirmStored(again.id)
    }

    /// Readers of one blob at once download it once; a blob another process put in the shared
    /// cache folder is read from there; the folder is its owner's alone; a half-fetched file is
    /// removed only once nobody has written to it for a long time (a `lake` command opening the
    /// store beside a daemon's fetch must not take its file away).
    @Test func readersShareOneFetchAndOneFolder() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-share")
        let a = try server.blobStore(cache: folder.file("a")), b = try server.blobStore(cache: folder.file("b"))
        let bytes = randomBytes(12 << 20)
        let stored = try put(a, bytes, session: "one")
        // Another process on the same folder, its index built before the blob arrives.
        let neighbour = try server.blobStore(cache: folder.file("b"))
        #expect(neighbour.cache.count == 0)
        let results = Mutex<[[UInt8]]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let read = (try? b.open(stored.id).bytes(at: 0, count: bytes.count)) ?? []
            results.withLock { $0.append(read) }
        }
        #expect(results.withLock { $0 }.allSatisfy { $0 == bytes })
        #expect(b.downloads.load(ordering: .relaxed) == 1)
        #expect(try neighbour.open(stored.id).size == Int64(bytes.count))
        #expect(neighbour.downloads.load(ordering: .relaxed) == 0)
        #expect(try #require(try Syscall.fileStatus(folder.file("b"))).st_mode & 0o777 == 0o700)

        let live = folder.file("b/fetching/\(stored.id).1"), old = folder.file("b/fetching/\(stored.id).2")
        FileManager.default.createFile(atPath: live, contents: Data([1]))
        FileManager.default.createFile(atPath: old, contents: Data([2]))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-3600)], ofItemAtPath: old)
        let another = try server.blobStore(cache: folder.file("b"))
        _ = another.cache.count
        #expect(FileManager.default.fileExists(atPath: live) && !FileManager.default.fileExists(atPath: old))
    }

    /// Bytes in the bucket that are not the blob's are refused on the way in: nothing is cached,
    /// the read fails saying so, and `check` reports the damage.
    @Test func damagedBytesInTheBucketAreNeverCached() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-damage")
        let a = try server.blobStore(cache: folder.file("a")), b = try server.blobStore(cache: folder.file("b"))
        let stored = try put(a, randomBytes(5000), session: "x")
        try a.client.delete(a.key(stored.id))
        try a.client.put(a.key(stored.id), data: Data(randomBytes(5000)))
        #expect(throws: BlobStoreError.self) { try b.open(stored.id) }
        do { _ = try b.open(stored.id) } catch { #expect("\(error)".contains("damaged"), "\(error)") }
        #expect(try b.cache.count == 0 && Syscall.listDirectory(folder.file("b/fetching")).isEmpty)
        guard case .corrupt = b.check(stored.id, expectedSize: 5000) else {
            Issue.record("other bytes under the blob's key were not reported")
            return
        }
    }

    /// Bytes sent to the bucket under a blob's name are the blob's: a node's copy changed after it
    /// was hashed (the disk, another writer) is refused before the PUT (or before a multipart
    /// upload is completed) and dropped, never made the copy every node trusts. By the client's
    /// PUT, by `confirmStored` putting a node's copy again, and by `restore`.
    @Test(arguments: [70_000, 20 << 20 + 5])
    func theBucketIsNeverGivenBytesThatAreNotTheBlobs(size: Int) throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-verified-put")
        let a = try server.blobStore(cache: folder.file("a")), b = try server.blobStore(cache: folder.file("b"))
        let bytes = randomBytes(size)
        let id = Digest.hex(SHA256.hash(data: bytes))
        var damaged = bytes
        damaged[size / 2] ^= 0x20
        let file = folder.write("damaged.bin", Data(damaged))
        #expect(throws: BlobStoreError.self) { try a.client.put(a.key(id), file: try ReadableFile(path: file), sha256: id) }
        #expect(try !a.contains(id), "damaged bytes were put under the blob's name")
        #expect(throws: BlobStoreError.self) { try a.restore(id, bytes: damaged) }
        #expect(try !a.contains(id))
        // An upload whose spool file changes between its hashing and its PUT (a small one is
        // written in place, so the change is not overwritten): refused, and its copy dropped.
        if size <= 1 << 20 {
            let upload = try a.beginUpload(session: "changed")
            try bytes.withUnsafeBytes { try upload.write($0) }
            try flipByte(a.cache.local.partPath("changed", owner: try a.cache.local.ownerName()), at: UInt64(size / 4))
            #expect(throws: BlobStoreError.self) { try a.withCommitGuard { try upload.commit() } }
            upload.release()
            #expect(try !a.contains(id), "damaged bytes were put under the blob's name")
            #expect(!a.cache.contains(id), "the damaged copy stayed in the node's cache")
        }

        // Node B stores bytes the bucket has (deduplicated), the bucket then loses them to a gc
        // elsewhere, and B's own copy is damaged by the time it puts it again.
        let first = try put(a, bytes, session: "first")
        let again = try put(b, bytes, session: "again")
        #expect(first.id == id && again.id == id)
        try a.delete(id)
        try flipByte(try b.cache.local.filePath(of: id), at: UInt64(size / 3))
        do {
            try b.confirmStored(id)
            Issue.record("a damaged copy was put again")
        } catch {
            #expect("\(error)".contains("no copy is left"), "\(error)")
        }
        #expect(try !b.contains(id), "damaged bytes were put under the blob's name")
        #expect(!b.cache.contains(id), "the damaged copy stayed in the node's cache")
        // Good bytes still go in.
        #expect(try a.client.put(a.key(id), file: try ReadableFile(path: folder.write("whole.bin", Data(bytes))), sha256: id))
        #expect(try b.open(id).bytes(at: 0, count: size) == bytes)
    }

    /// A daemon running for weeks puts many large blobs: each multipart upload's sending threads
    /// end with it and take their connections along (libcurl's handle per thread goes with the
    /// thread), so descriptors do not pile up upload after upload. Other tests run beside this
    /// one and open their own, so a leak is told by growth far beyond theirs (four sockets an upload).
    @Test func manyMultipartUploadsLeaveNoConnectionBehind() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-many-parts")
        let store = try server.blobStore(cache: folder.file("a"))
        let descriptors = { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
        let bytes = randomBytes(Int(S3Client.multipartThreshold) + 1)
        let path = folder.write("big.bin", Data(bytes))
        _ = try store.client.put("warm-up", file: try ReadableFile(path: path))
        let before = descriptors()
        for round in 0..<12 {
            #expect(try store.client.put("many/\(round)", file: try ReadableFile(path: path),
                                         sha256: Digest.hex(SHA256.hash(data: bytes))))
        }
        #expect(descriptors() < before + 24, "\(before) descriptors before 12 uploads, \(descriptors()) after")
        #expect(try store.client.get("many/11") == Data(bytes))
    }

    /// A cache file damaged on disk is found by `checkCached`, dropped, and fetched again whole.
    @Test func aDamagedCacheFileIsDroppedAndFetchedAgain() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-cached")
        let a = try server.blobStore(cache: folder.file("a")), b = try server.blobStore(cache: folder.file("b"))
        let bytes = randomBytes(70_000)
        let stored = try put(a, bytes, session: "x")
        try b.fetch(stored.id)
        #expect(b.checkCached(stored.id) == .intact)
        try flipByte(try b.cache.local.filePath(of: stored.id), at: 12_345)
        guard case .corrupt = b.checkCached(stored.id) else {
            Issue.record("a flipped byte in the cache was not found")
            return
        }
        #expect(!b.cache.contains(stored.id))
        #expect(try b.open(stored.id).bytes(at: 0, count: bytes.count) == bytes)
        #expect(b.checkCached(stored.id) == .intact)
    }

    /// A transfer cut midway (twice) goes on from the first byte not yet written, and the blob
    /// arrives whole and verified: the hash has taken exactly the bytes written before each cut.
    /// The blob is larger than the fetch's buffers together (the receiver waits for the hashing
    /// thread) and the cuts fall inside a buffer.
    @Test func aFetchCutMidwayGoesOnFromWhereItStopped() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-cut")
        let a = try server.blobStore(cache: folder.file("a"))
        let bytes = randomBytes(21 << 20 + 5)
        let stored = try put(a, bytes, session: "x")
        let proxy = try CuttingProxy(to: server.port, after: 9 << 20 + 7, cuts: 2)
        defer { proxy.stop() }
        let b = try server.blobStore(cache: folder.file("b"), endpoint: proxy.endpoint)
        try b.fetch(stored.id)
        #expect(proxy.cutsMade() == 2, "the proxy did not cut the transfer as the test means")
        #expect(try b.open(stored.id).bytes(at: 0, count: bytes.count) == bytes)
        #expect(b.checkCached(stored.id) == .intact && b.downloads.load(ordering: .relaxed) == 1)
    }

    /// A cache disk that fills up mid-fetch: the fetch fails with the disk's error, leaves no
    /// part of the blob behind (nothing in `fetching/`, nothing cached), and the cache goes on
    /// working for what fits.
    @Test func aFullCacheDiskFailsTheFetchAndLeavesNothing() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-full")
        let disk = folder.file("disk")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        _ = try Command.output("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "lake-test-cache", disk])
        defer { _ = try? Command.output("/bin/umount", ["-l", disk]) }
        #expect(try Command.output("/bin/findmnt", ["-n", "-o", "FSTYPE", disk]).hasPrefix("tmpfs"))
        let a = try server.blobStore(cache: folder.file("a"))
        let b = try server.blobStore(cache: disk + "/cache")
        let big = try put(a, randomBytes(6 << 20), session: "big")
        let small = randomBytes(100_000)
        let fits = try put(a, small, session: "small")
        #expect(throws: (any Error).self) { try b.fetch(big.id) }
        #expect(try Syscall.listDirectory(disk + "/cache/fetching").isEmpty)
        #expect(!b.cache.contains(big.id))
        #expect(try b.open(fits.id).bytes(at: 0, count: small.count) == small)
    }

    /// The scrubber checks what this node serves, not the bucket: a blob the node does not hold
    /// is fetched for nobody, and a damaged cached copy is dropped (the blob is fine: the next
    /// read fetches it again, verified).
    @Test func theScrubberChecksTheNodesCopyNotTheBucket() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-scrub")
        let a = try server.blobStore(cache: folder.file("a")), b = try server.blobStore(cache: folder.file("b"))
        let bytes = randomBytes(90_000)
        let stored = try put(a, bytes, session: "x")
        #expect(b.scrub(stored.id, expectedSize: stored.size) == .intact)
        #expect(b.downloads.load(ordering: .relaxed) == 0 && !b.cache.contains(stored.id))

        try b.fetch(stored.id)
        try flipByte(try b.cache.local.filePath(of: stored.id), at: 4_321)
        #expect(b.scrub(stored.id, expectedSize: stored.size) == .intact)
        #expect(!b.cache.contains(stored.id), "the damaged copy stayed in the cache")
        #expect(try b.open(stored.id).bytes(at: 0, count: bytes.count) == bytes)
        #expect(b.downloads.load(ordering: .relaxed) == 2)
    }

    /// A prefix belongs to one store: another store on it (its own catalog, to which these blobs
    /// look unused) cannot delete anything there, and claiming it is refused.
    @Test func anotherStoreOnThePrefixDeletesNothing() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-owner")
        let ours = try server.blobStore(cache: folder.file("a"))
        try S3BlobStore.claim(ours.client, prefix: ours.prefix, storeID: ours.storeID)
        try S3BlobStore.claim(ours.client, prefix: ours.prefix, storeID: ours.storeID)   // ours already: fine
        let stored = try put(ours, randomBytes(3000), session: "x")
        let intruder = try server.blobStore(cache: folder.file("b"), storeID: "store-other")
        #expect(throws: S3BlobStore.NotOurs.self) { try intruder.delete(stored.id) }
        #expect(throws: S3BlobStore.NotOurs.self) { try S3BlobStore.claim(intruder.client, prefix: intruder.prefix, storeID: intruder.storeID) }
        #expect(ours.contains(stored.id))
        try ours.delete(stored.id)
        #expect(!ours.contains(stored.id))
    }

    /// The cache stays under its limit by dropping the least recently used blob, remembers what
    /// it holds across a restart, and an evicted blob is simply fetched again.
    @Test func theCacheKeepsItsLimitAndSurvivesARestart() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-limit")
        let a = try server.blobStore(cache: folder.file("a"))
        let b = try server.blobStore(cache: folder.file("b"), maximumBytes: 250_000)
        let blobs = try (0..<3).map { i in (try put(a, randomBytes(100_000), session: "s\(i)")) }
        try b.fetch(blobs[0].id)
        try b.fetch(blobs[1].id)
        #expect(b.cache.count == 2)
        try b.fetch(blobs[2].id)
        #expect(b.cache.count == 2 && b.cache.bytes <= 250_000 && !b.cache.contains(blobs[0].id))
        let restarted = try NodeCache(root: folder.file("b"), maximumBytes: 250_000)
        #expect(restarted.count == 2 && restarted.contains(blobs[1].id) && restarted.contains(blobs[2].id))
        #expect(try b.open(blobs[0].id).size == 100_000)
        #expect(b.cache.count == 2 && b.cache.contains(blobs[0].id))
    }

    /// A blob a reader holds open is passed over when room is made, though it is the least
    /// recently used: the next one goes. With every other blob open too, the least recently used
    /// goes after all (the limit holds), and its reader still reads it whole.
    @Test func theCachePassesOverABlobSomeoneHasOpen() throws {
        let server = try SeaweedS3()
        let folder = TemporaryDirectory("s3-open")
        let a = try server.blobStore(cache: folder.file("a"))
        let b = try server.blobStore(cache: folder.file("b"), maximumBytes: 250_000)
        let contents = (0..<4).map { _ in randomBytes(100_000) }
        let blobs = try contents.enumerated().map { i, bytes in try put(a, bytes, session: "s\(i)") }
        let reader = try b.open(blobs[0].id)
        let second = try b.open(blobs[1].id)
        #expect(b.cache.count == 2)
        do {
            // blobs[0] is the least recently used and open; blobs[1] is open too: with both open,
            // the least recently used goes.
            try b.fetch(blobs[2].id)
            #expect(b.cache.count == 2 && !b.cache.contains(blobs[0].id) && b.cache.contains(blobs[1].id))
            #expect(try reader.bytes(at: 0, count: 100_000) == contents[0], "the dropped blob's reader lost its bytes")
        }
        // blobs[1] (open) is now older than blobs[2] (not open): blobs[2] goes instead.
        try b.fetch(blobs[3].id)
        #expect(b.cache.contains(blobs[1].id) && !b.cache.contains(blobs[2].id) && b.cache.contains(blobs[3].id), "\(b.cache.count)")
        #expect(b.cache.bytes <= 250_000)
        withExtendedLifetime(second) {}
    }
}
