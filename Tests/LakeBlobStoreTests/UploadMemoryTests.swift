import Foundation
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeBlobStore

/// A long-running mount uploads thousands of files: each upload's writer (its thread and 4 MiB
/// of buffers) must be freed when the upload ends, or the daemon grows until the OOM killer
/// ends it (it once kept every one).
@Suite struct UploadMemoryTests {
    @Test func aFinishedWriterIsFreed() throws {
        let directory = TemporaryDirectory("writer")
        let path = directory.file("part")
        let fd = try Syscall.open(path, O_WRONLY | O_CREAT, 0o600)
        defer { Syscall.close(fd) }
        weak var released: PipelinedWriter?
        do {
            let writer = PipelinedWriter(fd: fd, path: path)
            released = writer
            let buffer = try writer.acquire()
            writer.submit(buffer, count: 4096)
            try writer.finish()
        }
        // The writer's thread lets go of it once it has drained and returned.
        let deadline = Date().addingTimeInterval(20)
        while released != nil && Date() < deadline { usleep(10_000) }
        #expect(released == nil)
    }

    @Test func committedAndAbortedUploadsFreeTheirWriters() throws {
        let directory = TemporaryDirectory("uploads")
        let store = try LocalBlobStore(root: directory.path)
        weak var committed: LocalBlobUpload?
        weak var aborted: LocalBlobUpload?
        do {
            let first = try store.beginUpload(session: "a") as! LocalBlobUpload
            committed = first
            try Data(repeating: 7, count: 100_000).withUnsafeBytes { try first.write($0) }
            _ = try store.withCommitGuard { try first.commit() }
            first.release()
            let second = try store.beginUpload(session: "b") as! LocalBlobUpload
            aborted = second
            try Data(repeating: 8, count: 100_000).withUnsafeBytes { try second.write($0) }
            second.abort()
        }
        let deadline = Date().addingTimeInterval(20)
        while (committed != nil || aborted != nil) && Date() < deadline { usleep(10_000) }
        #expect(committed == nil && aborted == nil)
    }
}
