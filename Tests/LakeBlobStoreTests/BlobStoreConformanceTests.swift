import Crypto
import Foundation
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeBlobStore
@testable import LakeS3

/// One suite every BlobStore implementation must pass: the local one in both layouts, and the
/// S3 one (a real SeaweedFS on loopback, with a node cache in the temporary folder).
@Suite struct BlobStoreConformanceTests {
    static func makeStores() throws -> [(TemporaryDirectory, any BlobStore, SeaweedS3?)] {
        var stores: [(TemporaryDirectory, any BlobStore, SeaweedS3?)] = try [BlobLayout.oneLevel, .twoLevel].map { layout in
            let directory = TemporaryDirectory("blobs")
            let store = try LocalBlobStore(root: directory.path, layout: layout)
            try store.makeFolders()
            return (directory, store, nil)
        }
        let server = try SeaweedS3()
        let directory = TemporaryDirectory("s3-cache")
        stores.append((directory, try server.blobStore(cache: directory.path), server))
        return stores
    }

    @Test func storesByContentWithCorrectDigests() throws {
        for (_, store, _) in try Self.makeStores() {
            let bytes = randomBytes(1_000_003)
            let stored = try put(store, bytes, session: "s1")
            let sha = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            let md5 = Insecure.MD5.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
            #expect(stored == StoredBlob(id: sha, size: Int64(bytes.count)))
            #expect(try store.md5(of: sha) == md5)
            #expect(store.contains(sha))
            #expect(try store.size(of: sha) == Int64(bytes.count))
            let file = try store.open(sha)
            #expect(try file.bytes(at: 0, count: bytes.count) == bytes)
            #expect(store.check(sha, expectedSize: Int64(bytes.count)) == .intact)
            #expect(try store.uploadSessions().isEmpty)
        }
    }

    @Test func identicalBytesAreStoredOnce() throws {
        for (_, store, _) in try Self.makeStores() {
            let bytes = randomBytes(5000)
            let first = try put(store, bytes, session: "a")
            let second = try put(store, bytes, session: "b")
            #expect(first == second)
            #expect(try store.allBlobIDs() == [first.id])
        }
    }

    @Test func wholeFileWritesMatchChunkedWrites() throws {
        for (directory, store, _) in try Self.makeStores() {
            let bytes = randomBytes(3 << 20 + 17)
            FileManager.default.createFile(atPath: directory.path + "/source", contents: Data(bytes))
            let upload = try store.beginUpload(session: "whole")
            var reported: [Int64] = []
            try upload.write(contentsOf: ReadableFile(path: directory.path + "/source")) { reported.append($0) }
            let stored = try store.withCommitGuard { try upload.commit() }
            upload.release()
            #expect(stored.size == Int64(bytes.count))
            #expect(reported.last == Int64(bytes.count))
            #expect(try store.open(stored.id).bytes(at: 0, count: bytes.count) == bytes)
            #expect(store.check(stored.id, expectedSize: Int64(bytes.count)) == .intact)
        }
    }

    /// Small files are copied without the pipelined writer; a file that grew after it was opened
    /// (its size read then) is copied whole all the same, and one that shrank gives what it holds.
    @Test(arguments: [0, 1, 4096, 32 * 1024 + 1, (1 << 20) - 1, 1 << 20])
    func smallWholeFilesAndFilesThatChangedSize(size: Int) throws {
        for (directory, store, _) in try Self.makeStores() {
            let path = directory.path + "/source-\(size)"
            for change in [0, 3_000_000, -1] where size + change >= 0 {
                let bytes = randomBytes(size)
                FileManager.default.createFile(atPath: path, contents: Data(bytes))
                let source = try ReadableFile(path: path)
                let expected = change > 0 ? bytes + randomBytes(change) : Array(bytes.prefix(size + change))
                let handle = try #require(FileHandle(forUpdatingAtPath: path))
                try handle.truncate(atOffset: 0)
                try handle.write(contentsOf: Data(expected))
                try handle.close()
                let upload = try store.beginUpload(session: "whole-\(size)-\(change)")
                var reported: [Int64] = []
                try upload.write(contentsOf: source) { reported.append($0) }
                let stored = try store.withCommitGuard { try upload.commit() }
                upload.release()
                #expect(stored.size == Int64(expected.count), "size \(size), changed by \(change)")
                #expect(reported.last == Int64(expected.count))
                #expect(stored.id == SHA256.hash(data: expected).map { String(format: "%02x", $0) }.joined())
                #expect(try store.open(stored.id).bytes(at: 0, count: expected.count) == expected)
            }
        }
    }

    @Test func abortLeavesNothing() throws {
        for (_, store, _) in try Self.makeStores() {
            let upload = try store.beginUpload(session: "gone")
            try [UInt8](repeating: 7, count: 4096).withUnsafeBytes { try upload.write($0) }
            #expect(store.isUploadAlive(session: "gone"))
            upload.abort()
            #expect(!store.isUploadAlive(session: "gone"))
            #expect(try store.uploadSessions().isEmpty)
            #expect(try store.allBlobIDs().isEmpty)
        }
    }

    @Test func emptyBlobIsValid() throws {
        for (_, store, _) in try Self.makeStores() {
            let stored = try put(store, [], session: "empty")
            #expect(stored.id == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            #expect(try store.md5(of: stored.id) == "d41d8cd98f00b204e9800998ecf8427e")
        }
    }

    @Test func checkFindsMissingAndCorruptBlobs() throws {
        for (directory, store, _) in try Self.makeStores() {
            let stored = try put(store, randomBytes(100), session: "x")
            #expect(store.check(stored.id, expectedSize: 99) != .intact)
            if let s3 = store as? S3BlobStore {
                // Other bytes under the blob's key in the bucket, and no copy on this node.
                try s3.client.delete(s3.key(stored.id))
                try s3.client.put(s3.key(stored.id), data: Data(randomBytes(100)))
                s3.cache.drop(stored.id)
            } else {
                let path = try (store as! LocalBlobStore).path(of: stored.id)
                #expect(path.hasPrefix(directory.path + "/blobs/"))
                try Syscall.chmod(path, 0o644)
                try Data(randomBytes(100)).write(to: URL(fileURLWithPath: path))
            }
            guard case .corrupt = store.check(stored.id, expectedSize: 100) else {
                Issue.record("a rewritten blob was not reported corrupt")
                continue
            }
            #expect(throws: BlobStoreError.self) { try store.stream(stored.id) { _ in } }
            try store.delete(stored.id)
            #expect(store.check(stored.id, expectedSize: 100) == .missing)
        }
    }

    @Test func sessionsOfDeadWritersAreDiscardedButLiveOnesKept() throws {
        for (directory, store, _) in try Self.makeStores() {
            let live = try store.beginUpload(session: "live")
            // A dead writer's leftovers: files present, nobody holding the lock.
            FileManager.default.createFile(atPath: directory.path + "/spool/dead.part", contents: Data([1, 2, 3]))
            FileManager.default.createFile(atPath: directory.path + "/spool/dead.lock", contents: nil)
            #expect(try store.uploadSessions() == ["dead", "live"])
            #expect(!store.isUploadAlive(session: "dead"))
            #expect(try store.discardUpload(session: "dead"))
            #expect(try !store.discardUpload(session: "live"))
            #expect(try store.uploadSessions() == ["live"])
            live.abort()
        }
    }

    @Test func rejectsIDsThatAreNotHashes() throws {
        for (_, store, _) in try Self.makeStores() {
            #expect(throws: BlobStoreError.self) { try store.open("../../etc/passwd") }
            #expect(!store.contains("abc"))
        }
    }

    /// Files that are not blobs where blobs live are reported, in either layout, and never listed
    /// as blobs: a file where a folder belongs, a name that is no hash, a hash in the wrong folder,
    /// a folder of the other layout's shape.
    @Test func strayFilesAreFoundInEitherLayout() throws {
        for (directory, store, _) in try Self.makeStores() where store is LocalBlobStore {
            let local = store as! LocalBlobStore
            let kept = try put(store, randomBytes(10), session: "k")
            let blobs = directory.path + "/blobs"
            let misplaced = (kept.id.hasPrefix("00") ? "11" : "00") + String(kept.id.dropFirst(2))
            let wrongFolder = Path.parent(of: try local.path(of: kept.id)) + "/" + misplaced
            FileManager.default.createFile(atPath: blobs + "/notes.txt", contents: Data([1]))
            FileManager.default.createFile(atPath: wrongFolder, contents: Data([2]))
            FileManager.default.createFile(atPath: Path.parent(of: try local.path(of: kept.id)) + "/README", contents: Data([3]))
            var expected = [blobs + "/notes.txt", wrongFolder, Path.parent(of: try local.path(of: kept.id)) + "/README"]
            if local.layout == .oneLevel {
                // A blob where the two-level layout would put it is not where this store looks.
                try Syscall.makeDirectories(blobs + "/ab/cd")
                expected.append(blobs + "/ab/cd")
            }
            #expect(Set(try local.strayFiles()) == Set(expected))
            #expect(try store.allBlobIDs().contains(kept.id))
            #expect(try !store.allBlobIDs().contains("README"))
        }
    }
}
