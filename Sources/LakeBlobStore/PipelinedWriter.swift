import Foundation
import LakeSystem

/// Writes buffers one after another to a file on its own thread (a `BufferPipeline`), so the
/// caller's hashing of the next chunk overlaps the disk's work on the previous one.
///
/// Whole aligned buffers go through a second, O_DIRECT descriptor when there is one: the bytes
/// reach the disk while the next chunk is hashed instead of all at the final fsync, and the
/// copy takes no page cache (an upload's source is usually cached already; caching the copy
/// too would double the memory an upload dirties, and the kernel throttles writers for that).
/// An upload's 4 MiB of buffers are given back when it ends (`finish()`), whenever Foundation
/// lets go of the finished thread.
final class PipelinedWriter: Sendable {
    static let bufferSize = 1 << 20
    static let poolSize = 4
    static let directAlignment = 4096

    private let pipeline: BufferPipeline

    /// Writes from `offset` on (what came before was written without it).
    init(fd: Int32, directFD: Int32? = nil, path: String, startingAt offset: Int64 = 0) {
        let target = Target(fd: fd, directFD: directFD, path: path, offset: offset)
        pipeline = BufferPipeline(buffers: Self.poolSize, size: Self.bufferSize, name: "lake-blob-writer") { try target.write($0) }
    }

    /// A free buffer to fill (waits while all are queued); throws the writer's error if it failed.
    func acquire() throws -> UnsafeMutableRawBufferPointer { try pipeline.acquire() }

    /// Queues `count` bytes of a buffer from `acquire()` for writing.
    func submit(_ buffer: UnsafeMutableRawBufferPointer, count: Int) { pipeline.submit(buffer, count: count) }

    /// Gives back a buffer that will not be written.
    func giveBack(_ buffer: UnsafeMutableRawBufferPointer) { pipeline.giveBack(buffer) }

    /// Waits until everything queued is written and the thread has ended, frees the buffers, and
    /// throws the first write error. Later calls only report that error again.
    func finish() throws { try pipeline.finish() }

    /// Whether the buffers are still allocated (false once `finish()` returned).
    var holdsBuffers: Bool { pipeline.holdsBuffers }

    /// Where the bytes go; used only by the pipeline's thread.
    private final class Target: @unchecked Sendable {
        private let fd: Int32
        private var directFD: Int32?
        private var offset: Int64
        private let path: String

        init(fd: Int32, directFD: Int32?, path: String, offset: Int64) {
            self.fd = fd
            self.directFD = directFD
            self.path = path
            self.offset = offset
        }

        /// Writes at the end of what was written so far.
        func write(_ bytes: UnsafeRawBufferPointer) throws {
            let alignment = PipelinedWriter.directAlignment
            if let direct = directFD, bytes.count % alignment == 0, offset % Int64(alignment) == 0 {
                do {
                    try Syscall.pwriteAll(direct, bytes, offset: offset, path: path)
                    offset += Int64(bytes.count)
                    return
                } catch let error as SystemError where error.errno == EINVAL {
                    directFD = nil // the filesystem takes no direct I/O after all
                }
            }
            try Syscall.pwriteAll(fd, bytes, offset: offset, path: path)
            offset += Int64(bytes.count)
        }
    }
}
