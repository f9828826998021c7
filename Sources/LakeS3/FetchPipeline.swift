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
/// whatever the blob (`BufferPipeline`).
final class FetchPipeline {
    static let bufferSize = 4 << 20
    static let poolSize = 4
    /// The disk is asked to start writing what the pipeline wrote every this many bytes, so the
    /// sync before the blob takes its name waits for the last few megabytes, not for the whole
    /// blob (2 GiB left dirty took about a second to sync here).
    static let writebackStep: Int64 = 32 << 20

    private let pipeline: BufferPipeline
    private let taker: Taker
    /// The receiver's buffer being filled, and how much of it is.
    private var current: UnsafeMutableRawBufferPointer?
    private var filled = 0

    /// Runs `body` with a pipeline that hashes what it is given, and writes it to `file` from
    /// offset 0 on when there is one; returns the hex SHA-256 of it all once every byte is
    /// written. The worker ends before this returns or throws, whatever `body` does.
    static func hashing(writingTo file: ReadableFile?, _ body: (FetchPipeline) throws -> Void) throws -> String {
        let pipeline = FetchPipeline(writingTo: file)
        do { try body(pipeline) } catch {
            try? pipeline.pipeline.finish()
            throw error
        }
        if let buffer = pipeline.current { pipeline.pipeline.submit(buffer, count: pipeline.filled) }
        try pipeline.pipeline.finish()
        return Digest.hex(pipeline.taker.sha.finalize())
    }

    private init(writingTo file: ReadableFile?) {
        let taker = Taker(file: file)
        self.taker = taker
        pipeline = BufferPipeline(buffers: Self.poolSize, size: Self.bufferSize, name: "lake-fetch") { try taker.take($0) }
    }

    /// Takes the next bytes of the blob (copied: `bytes` may be reused when this returns);
    /// throws the worker's error once it has one.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while !rest.isEmpty {
            if current == nil {
                current = try pipeline.acquire()
                filled = 0
            }
            let buffer = current!
            let count = min(rest.count, buffer.count - filled)
            UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + count)]).copyMemory(from: UnsafeRawBufferPointer(rebasing: rest[..<count]))
            filled += count
            rest = UnsafeRawBufferPointer(rebasing: rest[count...])
            if filled == buffer.count {
                pipeline.submit(buffer, count: filled)
                current = nil
            }
        }
    }

    /// Hashes and writes, on the pipeline's thread only (read by `hashing` once it has ended).
    private final class Taker: @unchecked Sendable {
        let file: ReadableFile?
        var sha = SHA256()
        private var written: Int64 = 0
        private var flushed: Int64 = 0

        init(file: ReadableFile?) { self.file = file }

        func take(_ bytes: UnsafeRawBufferPointer) throws {
            sha.update(bufferPointer: bytes)
            guard let file else { return }
            try Syscall.pwriteAll(file.descriptor, bytes, offset: written, path: file.path)
            written += Int64(bytes.count)
            if written - flushed >= FetchPipeline.writebackStep {
                Syscall.startWriteback(file.descriptor, offset: flushed, count: written - flushed)
                flushed = written
            }
        }
    }
}
