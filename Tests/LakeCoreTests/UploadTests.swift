import Foundation
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeCore

@Suite struct UploadTests {
    func request(_ path: String, units: String? = "mm") -> UploadRequest {
        UploadRequest(path: path, params: ["mach": Param(value: .number(0.8))], tags: ["t": .bool(true)],
                      geometryUnits: units, createdBy: "tester")
    }

    @Test func uploadStoresBytesAndRecordsEverything() throws {
        let test = try TestStore()
        let path = test.directory.writeRandom("data.bin", size: 3_000_000)
        let uploaded = try Uploader(store: test.store).upload(request(path))
        #expect(uploaded.status == .uploaded)
        #expect(uploaded.file.blob?.contentHash.md5 == nil)
        // Processing computes the MD5; an unknown format has nothing else to derive.
        let object = try ProcessingWait(worker: ProcessingWorker(store: test.store)).untilSettled([uploaded.id])[0]
        #expect(object.status == .ready && object.provisions.isEmpty)
        #expect(object.format == .unknown)
        let md5 = try Command.output("/usr/bin/md5sum", [path]).prefix(32)
        #expect(object.file.blob?.contentHash.md5 == String(md5))
        #expect(object.file.blob?.contentHash.etag == String(md5))
        #expect(object.size == 3_000_000)
        #expect(object.createdBy == "tester" && object.params["mach"] == Param(value: .number(0.8)))
        let blob = try #require(object.file.blob)
        let stored = try test.store.blobs.open(blob.id)
        let original = try ReadableFile(path: path)
        #expect(try stored.bytes(at: 0, count: 3_000_000) == original.bytes(at: 0, count: 3_000_000))
        #expect(try Verifier(store: test.store).run().isClean)
    }

    @Test func identicalFilesShareOneBlob() throws {
        let test = try TestStore()
        let a = test.directory.write("a.txt", "same bytes")
        let b = test.directory.write("b.txt", "same bytes")
        let first = try Uploader(store: test.store).upload(request(a))
        let second = try Uploader(store: test.store).upload(request(b))
        #expect(first.id != second.id)
        #expect(first.file.blob?.id == second.file.blob?.id)
        #expect(try test.store.blobs.allBlobIDs().count == 1)
    }

    @Test func badSourcesFailWithTheirPathAndLeaveNothing() throws {
        let test = try TestStore()
        test.directory.write("folder/x.txt", "x")
        let unreadable = test.directory.write("secret.txt", "x")
        try Syscall.chmod(unreadable, 0)
        for (path, expected) in [(test.directory.file("missing.stl"), "no such file"),
                                 (test.directory.file("folder"), "is a directory")] {
            #expect(throws: UploadError.self) { try Uploader(store: test.store).upload(request(path)) }
            do { _ = try Uploader(store: test.store).upload(request(path)) } catch {
                #expect(error.path == path && error.reason.contains(expected))
            }
        }
        if getuid() != 0 {   // root reads anything, so only other users can see this one
            #expect(throws: UploadError.self) { try Uploader(store: test.store).upload(request(unreadable)) }
        }
        #expect(try test.store.catalog.objects(limit: 10, after: nil).isEmpty)
    }

    @Test func fullDiskLeavesNoObjectAndNoPartialBlob() throws {
        guard getuid() == 0 else { return }   // mounting a small tmpfs needs root
        let directory = TemporaryDirectory("fulldisk")
        let mountpoint = directory.file("small")
        try Syscall.makeDirectories(mountpoint)
        try #require(try Command.status("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mountpoint]) == 0,
                     "cannot mount a tmpfs for the full-disk test")
        defer { _ = try? Command.status("/bin/umount", [mountpoint]) }
        guard case .created(let store) = try Store.create(at: mountpoint + "/store", logger: TestLogger.make()) else { return }
        let big = directory.writeRandom("big.bin", size: 16 << 20)
        do {
            _ = try Uploader(store: store).upload(request(big))
            Issue.record("a 16 MiB upload into a 6 MiB disk succeeded")
        } catch {
            #expect(error.isNoSpace, "\(error)")
            #expect(error.reason.contains("no space"))
        }
        #expect(try store.catalog.objects(limit: 10, after: nil).isEmpty)
        #expect(try store.blobs.allBlobIDs().isEmpty)
        #expect(try store.blobs.uploadSessions().isEmpty)
        // The disk is usable again once space is there: a small upload works.
        let small = directory.write("small.txt", "fits")
        #expect(try Uploader(store: store).upload(request(small)).status == .uploaded)
    }
}
