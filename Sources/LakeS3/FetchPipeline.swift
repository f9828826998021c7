import Crypto
import Foundation
import LakeBlobStore
import LakeSystem

/// Hashes (and writes, when given a file) the bytes of a blob arriving from the bucket on a
/// thread of its own, so the thread receiving them only copies each piece into a buffer and
/// goes back to the socket. On one thread, receiving, hashing (SHA-256: about 2 GB/s on one
/// core here) and copying into the page cache cap a fetch near 1 GB/s, below what a node's
/// network delivers; apart, they take two cores. On this two-core test machine, whose other core
/// serves the bucket, the two measured alike (docs/benchmarks.md). Buffers come from a fixed
/// pool: a receiver that gets ahead waits for one, so memory stays at `poolSize × bufferSize`
/// whatever the blob.
final class FetchPipeline: @unchecked Sendable {
    static let bufferSize = 4 << 20
    static let poolSize = 4
    /// The disk is asked to start writing what the pipeline wrote every this many bytes, so the
    /// sync before the blob takes its name waits for the last few megabytes, not for the whole
    /// blob (2 GiB left dirty took about a second to sync here).
    static let writebackStep: Int64 = 32 << 20

    private let file: ReadableFile?
    private let condition = NSCondition()
    // Everything below is read and written only with `condition` locked, except `sha`, `written`
    // and `flushed`, which only the worker touches until it has exited.
    private var all: [UnsafeMutableRawBufferPointer]
    private var free: [UnsafeMutableRawBufferPointer]
    private var queued: [(buffer: UnsafeMutableRawBufferPointer, count: Int)] = []
    private var failure: (any Error)?
    private var closing = false
    private var exited = false
    private var sha = SHA256()
    private var written: Int64 = 0
    private var flushed: Int64 = 0
    /// The receiver's buffer being filled, and how much of it is.
    private var current: UnsafeMutableRawBufferPointer?
    private var filled = 0

    /// Runs `body` with a pipeline that hashes what it is given, and writes it to `file` from
    /// offset 0 on when there is one; returns the hex SHA-256 of it all once every byte is
    /// written. The worker ends before this returns or throws, whatever `body` does.
    static func hashing(writingTo file: ReadableFile?, _ body: (FetchPipeline) throws -> Void) throws -> String {
        let pipeline = FetchPipeline(writingTo: file)
        do { try body(pipeline) } catch {
            _ = try? pipeline.finish()
            throw error
        }
        return try pipeline.finish()
    }

    private init(writingTo file: ReadableFile?) {
        self.file = file
        all = (0..<Self.poolSize).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 4096) }
        free = all
        let thread = Thread { [self] in drain() }
        thread.name = "lake-fetch"
        thread.start()
    }

    /// Takes the next bytes of the blob (copied: `bytes` may be reused when this returns);
    /// throws the worker's error once it has one.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            if current == nil {
                current = try acquire()
                filled = 0
            }
            let buffer = current!
            let count = min(rest.count, buffer.count - filled)
            UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + count)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest[..<count]))
            filled += count
            rest = UnsafeRawBufferPointer(rebasing: rest[count...])
            if filled == buffer.count { submitCurrent() }
        }
    }

    /// Waits for every byte given to be hashed and written, ends the worker, and returns the hex
    /// SHA-256 of them all (or the worker's first error).
    private func finish() throws -> String {
        if current != nil { submitCurrent() }
        condition.lock()
        closing = true
        condition.broadcast()
        while !exited { condition.wait() }
        for buffer in all { buffer.deallocate() }
        all = []
        free = []
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
        return Digest.hex(sha.finalize())
    }

    private func acquire() throws -> UnsafeMutableRawBufferPointer {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty && failure == nil { condition.wait() }
        if let failure { throw failure }
        return free.removeLast()
    }

    private func submitCurrent() {
        guard let buffer = current else { return }
        current = nil
        condition.lock()
        queued.append((buffer, filled))
        condition.broadcast()
        condition.unlock()
    }

    /// The worker: hashes and writes what is queued, in order, until closed and empty.
    private func drain() {
        while true {
            condition.lock()
            while queued.isEmpty && !closing { condition.wait() }
            if queued.isEmpty {
                exited = true
                condition.broadcast()
                condition.unlock()
                return
            }
            let (buffer, count) = queued.removeFirst()
            let failed = failure != nil
            condition.unlock()
            var error: (any Error)?
            if !failed {
                do { try take(UnsafeRawBufferPointer(rebasing: buffer[..<count])) } catch let e { error = e }
            }
            condition.lock()
            if let error, failure == nil { failure = error }
            free.append(buffer)
            condition.broadcast()
            condition.unlock()
        }
    }

    private func take(_ bytes: UnsafeRawBufferPointer) throws {
        sha.update(bufferPointer: bytes)
        guard let file else { return }
        try Syscall.pwriteAll(file.descriptor, bytes, offset: written, path: file.path)
        written += Int64(bytes.count)
        if written - flushed >= Self.writebackStep {
            Syscall.startWriteback(file.descriptor, offset: flushed, count: written - flushed)
            flushed = written
        }
    }
}
