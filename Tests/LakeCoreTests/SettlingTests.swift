import Foundation
import LakeBlobStore
import LakeCatalog
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeCore

/// Uploads through incoming/: a small file's bytes are in the catalog until one sync has made its
/// blob file durable (after a crash that came first, recovery writes them back); a larger file's
/// blob is recorded while its syncs run, marked until they have ended (recovery checks the marks
/// a dead process left).
@Suite struct SettlingTests {
    /// Uploads `bytes` the way the mount does; with `keepingSpoolName` the session stays alive
    /// (as while the mount has not yet answered the close).
    func uploadUnsynced(_ store: Store, _ bytes: [UInt8], name: String, keepingSpoolName: Bool = false) throws -> (StreamingUpload, String) {
        let settler = BlobSettler(store: store, logger: TestLogger.make())
        let upload = try StreamingUpload(store: store, fileName: name, createdBy: "tester", owner: .legacy)
        try bytes.withUnsafeBytes { try upload.write($0, at: 0) }
        try upload.commit(settler: settler, keepingSpoolName: keepingSpoolName)
        return (upload, try #require(upload.blobID))
    }

    func blobPath(_ test: TestStore, _ id: String) -> String {
        BlobFiles.path(store: test.root, id: id)
    }

    /// What a power failure can leave of a file written but not synced: nothing, an empty file,
    /// or one of the right size holding other bytes.
    func loseInACrash(_ path: String, how: String, size: Int) throws {
        try Syscall.unlinkIfPresent(path)
        switch how {
        case "empty": FileManager.default.createFile(atPath: path, contents: Data())
        case "garbage": FileManager.default.createFile(atPath: path, contents: Data(repeating: 0, count: size))
        default: break
        }
    }

    @Test func aSmallUploadKeepsItsBytesInTheCatalogUntilSettled() throws {
        let test = try TestStore()
        let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let (upload, blob) = try uploadUnsynced(test.store, bytes, name: "a.bin")
        #expect(try test.store.catalog.unsettledBlobs().map(\.id) == [blob])
        #expect(try test.store.catalog.unsettledBlobs().first?.bytes == bytes)
        #expect(try test.store.catalog.unsyncedBlobs().isEmpty)
        #expect(try test.store.catalog.object(upload.id)?.status == .uploaded)
        BlobSettler(store: test.store, logger: TestLogger.make()).settleNow()
        #expect(try test.store.catalog.unsettledBlobs().isEmpty)
        #expect(try test.store.catalog.lastUnsettledBlob() == 0)
    }

    @Test(arguments: [Int(BlobSettling.maximumBytes) + 1, 3_000_000])
    func anUploadIsMarkedUntilItsSyncsEndAndTheSettlerForgetsIt(size: Int) throws {
        let test = try TestStore()
        let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let (upload, blob) = try uploadUnsynced(test.store, bytes, name: "a.bin")
        #expect(try test.store.catalog.unsyncedBlobs().map { [$0.id, $0.objectID.rawValue] } == [[blob, upload.id.rawValue]])
        #expect(try test.store.catalog.unsettledBlobs().isEmpty)
        #expect(try test.store.catalog.object(upload.id)?.status == .uploaded)
        #expect(test.store.blobs.check(blob, expectedSize: Int64(size)) == .intact)
        let settler = BlobSettler(store: test.store, logger: TestLogger.make())
        settler.synced(upload.id)
        settler.forgetSynced()
        #expect(try test.store.catalog.unsyncedBlobs().isEmpty)
    }

    /// The same bytes stored twice: the second upload keeps the first file (and syncs it too).
    @Test func identicalBytesAreStoredOnceAndBothMarked() throws {
        let test = try TestStore()
        let bytes = [UInt8](repeating: 5, count: 50_000)
        let (first, blob) = try uploadUnsynced(test.store, bytes, name: "one.bin")
        let (second, again) = try uploadUnsynced(test.store, bytes, name: "two.bin")
        #expect(again == blob)
        #expect(try Set(test.store.catalog.unsyncedBlobs().map(\.objectID)) == [first.id, second.id])
        #expect(try Recovery(store: test.store).run().discardedObjects.isEmpty)
        #expect(try test.store.catalog.unsyncedBlobs().isEmpty)
    }

    /// What a power failure before the syncs ended leaves: the file missing, empty, or holding
    /// other bytes. The object goes (its close never returned); the other upload stays.
    @Test(arguments: ["missing", "empty", "garbage"])
    func recoveryRemovesAnObjectWhoseBlobNeverReachedTheDisk(how: String) throws {
        let test = try TestStore()
        let bytes = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let (lost, blob) = try uploadUnsynced(test.store, bytes, name: "lost.bin")
        let (kept, intact) = try uploadUnsynced(test.store, [1, 2, 3], name: "kept.bin")
        let path = blobPath(test, blob)
        try loseInACrash(path, how: how, size: bytes.count)
        let report = try Recovery(store: test.store).run()
        #expect(report.discardedObjects == [lost.id])
        #expect(try test.store.catalog.object(lost.id) == nil)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try !test.store.catalog.isBlobRecorded(blob))
        #expect(try test.store.catalog.object(kept.id)?.file.blob?.id == intact)
        #expect(test.store.blobs.check(intact, expectedSize: 3) == .intact)
        #expect(try test.store.catalog.unsyncedBlobs().isEmpty)
        #expect(try test.store.catalog.auditLog(id: lost.id, uid: nil, limit: 10, before: nil).map(\.action).contains("object.discard"))
        #expect(try Verifier(store: test.store).run().isClean)
    }

    /// A mark whose upload is still alive (its close not yet answered) is left alone, whatever
    /// its file looks like at that instant.
    @Test func recoveryLeavesALiveUploadsMarkAlone() throws {
        let test = try TestStore()
        let (upload, blob) = try uploadUnsynced(test.store, [UInt8](repeating: 9, count: 40_000), name: "live.bin", keepingSpoolName: true)
        try Syscall.unlinkIfPresent(blobPath(test, blob))
        #expect(try Recovery(store: test.store).run().discardedObjects.isEmpty)
        #expect(try test.store.catalog.object(upload.id) != nil)
        #expect(try test.store.catalog.unsyncedBlobs().count == 1)
        upload.releaseSpool()
        #expect(try Recovery(store: test.store).run().discardedObjects == [upload.id])
    }

    /// A mark left by a dead process for an object purged since (and whose blob's record `lake
    /// gc` removed, the file too): nothing to check or remove, the mark is just forgotten.
    @Test func aMarkWhoseObjectWasPurgedIsForgotten() throws {
        let test = try TestStore()
        let (upload, blob) = try uploadUnsynced(test.store, [UInt8](repeating: 4, count: 40_000), name: "gone.bin")
        _ = try test.store.catalog.trashObjects([upload.id], at: .now)
        _ = try test.store.catalog.purgeObjects([upload.id], at: .now)
        #expect(try test.store.catalog.deleteUnreferencedBlobRecords() == [blob])
        try test.store.blobs.delete(blob)
        let report = try Recovery(store: test.store).run()
        #expect(report.discardedObjects.isEmpty)
        #expect(try test.store.catalog.unsyncedBlobs().isEmpty)
        #expect(try Verifier(store: test.store).run().isClean)
    }

    /// What a power failure before the batched sync leaves of a small file: its blob file
    /// missing, empty, or with other bytes. Recovery writes it back from the catalog.
    @Test(arguments: ["missing", "empty", "garbage"])
    func recoveryWritesBackASmallBlobACrashKeptFromTheDisk(how: String) throws {
        let test = try TestStore()
        let bytes = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let (upload, blob) = try uploadUnsynced(test.store, bytes, name: "lost.bin")
        let (_, intact) = try uploadUnsynced(test.store, [1, 2, 3], name: "kept.bin")
        let path = blobPath(test, blob)
        try loseInACrash(path, how: how, size: bytes.count)
        let report = try Recovery(store: test.store).run()
        #expect(report.restoredBlobs == [blob])
        #expect(report.discardedObjects.isEmpty)
        #expect(test.store.blobs.check(blob, expectedSize: Int64(bytes.count)) == .intact)
        #expect(test.store.blobs.check(intact, expectedSize: 3) == .intact)
        #expect(try test.store.catalog.unsettledBlobs().isEmpty)
        #expect(try test.store.catalog.object(upload.id)?.file.blob?.id == blob)
        #expect(try Verifier(store: test.store).run().isClean)
    }
}
