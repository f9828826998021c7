import Foundation
import LakeBlobStore
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeCore

/// Small uploads committed unsettled: their bytes are in the catalog until one sync has made
/// their files durable; after a crash that came first, recovery writes them back.
@Suite struct SettlingTests {
    /// Uploads `bytes` the way the mount does, leaving the blob unsettled.
    func uploadUnsettled(_ store: Store, _ bytes: [UInt8], name: String) throws -> (LakeID, String) {
        let settler = BlobSettler(store: store, logger: TestLogger.make())
        let upload = try StreamingUpload(store: store, fileName: name, createdBy: "tester", owner: .legacy)
        try bytes.withUnsafeBytes { try upload.write($0, at: 0) }
        try upload.commit(settler: settler)
        return (upload.id, try #require(upload.blobID))
    }

    func blobPath(_ test: TestStore, _ id: String) -> String {
        BlobFiles.path(store: test.root, id: id)
    }

    @Test func aSmallUploadKeepsItsBytesInTheCatalogUntilSettled() throws {
        let test = try TestStore()
        let bytes = (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let (id, blob) = try uploadUnsettled(test.store, bytes, name: "a.bin")
        #expect(try test.store.catalog.unsettledBlobs().map(\.id) == [blob])
        #expect(try test.store.catalog.unsettledBlobs().first?.bytes == bytes)
        #expect(try test.store.catalog.object(id)?.status == .uploaded)
        BlobSettler(store: test.store, logger: TestLogger.make()).settleNow()
        #expect(try test.store.catalog.unsettledBlobs().isEmpty)
        #expect(try test.store.catalog.lastUnsettledBlob() == 0)
    }

    @Test func aLargeUploadIsSyncedAtCommitAndNotKept() throws {
        let test = try TestStore()
        let bytes = [UInt8](repeating: 7, count: Int(BlobSettling.maximumBytes) + 1)
        _ = try uploadUnsettled(test.store, bytes, name: "big.bin")
        #expect(try test.store.catalog.unsettledBlobs().isEmpty)
    }

    /// What a power failure before the sync leaves: the file missing, empty, or with other bytes.
    @Test(arguments: ["missing", "empty", "garbage"])
    func recoveryWritesBackWhatACrashKeptFromTheDisk(how: String) throws {
        let test = try TestStore()
        let bytes = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        let (id, blob) = try uploadUnsettled(test.store, bytes, name: "lost.bin")
        let (_, intact) = try uploadUnsettled(test.store, [1, 2, 3], name: "kept.bin")
        let path = blobPath(test, blob)
        try Syscall.unlinkIfPresent(path)
        switch how {
        case "empty": FileManager.default.createFile(atPath: path, contents: Data())
        case "garbage": FileManager.default.createFile(atPath: path, contents: Data(repeating: 0, count: bytes.count))
        default: break
        }
        let report = try Recovery(store: test.store).run()
        #expect(report.restoredBlobs == [blob])
        #expect(try test.store.blobs.check(blob, expectedSize: Int64(bytes.count)) == .intact)
        #expect(try test.store.blobs.check(intact, expectedSize: 3) == .intact)
        #expect(try test.store.catalog.unsettledBlobs().isEmpty)
        let object = try #require(try test.store.catalog.object(id))
        #expect(object.file.blob?.id == blob)
        #expect(try Verifier(store: test.store).run().isClean)
    }
}
