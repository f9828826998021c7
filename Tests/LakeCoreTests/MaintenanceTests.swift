import Crypto
import Foundation
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeCore

@Suite struct MaintenanceTests {
    func blobPath(_ test: TestStore, _ id: String) -> String {
        BlobFiles.path(store: test.root, id: id)
    }

    @Test func verifyReportsMissingCorruptOrphanedAndLeftovers() throws {
        let test = try TestStore()
        let uploader = Uploader(store: test.store)
        let a = try uploader.upload(UploadRequest(path: test.directory.write("a.txt", "aaaa"), createdBy: "t"))
        let b = try uploader.upload(UploadRequest(path: test.directory.write("b.txt", "bbbb"), createdBy: "t"))
        #expect(try Verifier(store: test.store).run().isClean)

        try Syscall.unlinkIfPresent(blobPath(test, a.file.blob!.id))
        try Syscall.chmod(blobPath(test, b.file.blob!.id), 0o644)
        try "BBBB".write(toFile: blobPath(test, b.file.blob!.id), atomically: false, encoding: .utf8)
        let orphan = String(repeating: "c", count: 64)
        test.directory.write("store/blobs/cc/" + orphan, "c")
        test.directory.write("store/spool/obj-dead.part", "partial")
        test.directory.write("store/spool/obj-dead.lock", "")

        let report = try Verifier(store: test.store).run()
        #expect(!report.isClean)
        #expect(report.missing.map(\.blob) == [a.file.blob!.id])
        #expect(report.missing.first?.objects == [a.id])
        #expect(report.corrupt.map(\.blob) == [b.file.blob!.id])
        #expect(report.orphanedFiles == [orphan])
        #expect(report.abandonedSpool == ["obj-dead"])
    }

    @Test func gcRemovesUnreferencedBlobsAndLeftoversButKeepsLiveOnes() throws {
        let test = try TestStore()
        let kept = try Uploader(store: test.store).upload(UploadRequest(path: test.directory.write("a.txt", "keep"), createdBy: "t"))
        let orphan = String(repeating: "d", count: 64)
        test.directory.write("store/blobs/dd/" + orphan, "d")
        test.directory.write("store/spool/obj-dead.part", "partial")
        test.directory.write("store/spool/obj-dead.lock", "")
        let live = try test.store.blobs.beginUpload(session: "obj-live")
        defer { live.abort() }

        let report = try GarbageCollector(store: test.store).run()
        #expect(report.removedBlobs == [orphan])
        #expect(report.discardedUploads == ["obj-dead"])
        #expect(try test.store.blobs.uploadSessions() == ["obj-live"])
        #expect(test.store.blobs.contains(kept.file.blob!.id))
        let after = try Verifier(store: test.store).run()
        #expect(after.orphanedFiles.isEmpty && after.abandonedSpool.isEmpty && after.missing.isEmpty)
    }

    @Test func recoveryReapsAPendingObjectWhoseUploaderDied() throws {
        let test = try TestStore()
        let id = LakeID.make(.object, at: Timestamp.now.milliseconds)
        // As a killed `lake upload` leaves it: the row, spool files, no lock holder.
        try test.store.catalog.createPendingObject(LakeObject(
            id: id, name: "x", description: "", file: ObjectFile(name: "x.bin", blob: nil), format: .unknown,
            status: .pendingUpload, createdAt: .now, createdBy: "t"))
        test.directory.write("store/spool/\(id).part", "half")
        test.directory.write("store/spool/\(id).lock", "")
        #expect(try Verifier(store: test.store).run().interruptedUploads == [id])
        let report = try Recovery(store: test.store).run()
        #expect(report.reapedObjects == [id])
        #expect(try test.store.catalog.object(id) == nil)
        #expect(try Verifier(store: test.store).run().isClean)
    }

    /// A writer killed after its bytes got their blob name and before the catalog recorded them
    /// leaves a blob file nothing refers to: recovery removes it with the spool file, and keeps a
    /// blob whose bytes the catalog does record (stored by an upload of the same bytes).
    @Test func recoveryRemovesTheBlobOfAnUploadKilledBeforeItsCommit() throws {
        let test = try TestStore()
        let recorded = try Uploader(store: test.store).upload(UploadRequest(path: test.directory.write("kept.txt", "kept bytes"), createdBy: "t"))
        let keptID = recorded.file.blob!.id
        // As a killed writer leaves them: its part files linked as blobs, its owner lock gone.
        for (session, bytes) in [("obj-killed", "never recorded"), ("obj-same", "kept bytes")] {
            let part = test.directory.write("store/spool/\(session)@own-dead.part", bytes)
            let id = SHA256.hash(data: Data(bytes.utf8)).map { String(format: "%02x", $0) }.joined()
            if bytes == "never recorded" {
                #expect(try Syscall.link(part, BlobFiles.path(store: test.root, id: id)))
            } else {
                // The blob file exists already; the killed writer found it stored.
                #expect(id == keptID)
            }
        }
        let lost = SHA256.hash(data: Data("never recorded".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(try Verifier(store: test.store).run().orphanedFiles == [lost])

        let report = try Recovery(store: test.store).run()
        #expect(Set(report.discardedSessions) == ["obj-killed", "obj-same"])
        #expect(report.removedBlobs == [lost])
        #expect(try Syscall.fileStatus(BlobFiles.path(store: test.root, id: lost)) == nil)
        #expect(test.store.blobs.check(keptID, expectedSize: 10) == .intact)
        #expect(try Verifier(store: test.store).run().isClean)
    }
}
