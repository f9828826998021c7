import Foundation
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeBlobStore

/// A long-running mount uploads thousands of files: each upload's writer (its thread and 4 MiB
/// of buffers) must let go of its memory when the upload ends, or the daemon grows until the OOM
/// killer ends it (it once kept every one).
@Suite struct UploadMemoryTests {
    /// A spool file to write to, in a folder of its own.
    func spoolFile(_ name: String) throws -> (directory: TemporaryDirectory, path: String, fd: Int32) {
        let directory = TemporaryDirectory(name)
        let path = directory.file("part")
        return (directory, path, try Syscall.open(path, O_WRONLY | O_CREAT, 0o600))
    }

    @Test func aFinishedWriterFreesItsBuffersAndIsNotHeldByItsThread() throws {
        let (directory, path, fd) = try spoolFile("writer")
        defer { Syscall.close(fd); _ = directory }
        weak var released: PipelinedWriter?
        do {
            let writer = PipelinedWriter(fd: fd, path: path)
            released = writer
            let buffer = try writer.acquire()
            writer.submit(buffer, count: 4096)
            try writer.finish()
            // finish() returns once the thread has ended: the buffers are gone already.
            #expect(!writer.holdsBuffers)
        }
        // The thread never held the writer, so the last reference was the test's.
        #expect(released == nil)
        #expect(try Syscall.fileStatus(path)?.st_size == 4096)
    }

    @Test func aWriterDroppedWithoutFinishStillEndsItsThread() throws {
        let (directory, path, fd) = try spoolFile("writer-dropped")
        defer { Syscall.close(fd); _ = directory }
        weak var released: PipelinedWriter?
        do {
            let writer = PipelinedWriter(fd: fd, path: path)
            released = writer
            writer.submit(try writer.acquire(), count: 100)
        }
        #expect(released == nil)
        #expect(try Syscall.fileStatus(path)?.st_size == 100, "what was queued is written before the thread ends")
    }

    @Test func committedAndAbortedUploadsAreFreedAtOnce() throws {
        let directory = TemporaryDirectory("uploads")
        let store = try LocalBlobStore(root: directory.path, layout: .oneLevel)
        weak var committed: LocalBlobUpload?
        weak var aborted: LocalBlobUpload?
        do {
            // Over 1 MiB, so both start a pipelined writer.
            let big = Data(repeating: 7, count: 3 << 20)
            let first = try store.beginUpload(session: "a") as! LocalBlobUpload
            committed = first
            try big.withUnsafeBytes { try first.write($0) }
            _ = try store.withCommitGuard { try first.commit() }
            first.release()
            let second = try store.beginUpload(session: "b") as! LocalBlobUpload
            aborted = second
            try big.withUnsafeBytes { try second.write($0) }
            second.abort()
        }
        #expect(committed == nil && aborted == nil)
    }
}
