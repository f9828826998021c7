import Foundation
import LakeSystem

/// Writes buffers one after another to a file on its own thread, so the caller's hashing of
/// the next chunk overlaps the disk's work on the previous one. Buffers come from a small fixed
/// pool, so memory stays bounded whatever the file size.
///
/// Whole aligned buffers go through a second, O_DIRECT descriptor when there is one: the bytes
/// reach the disk while the next chunk is hashed instead of all at the final fsync, and the
/// copy takes no page cache (an upload's source is usually cached already; caching the copy
/// too would double the memory an upload dirties, and the kernel throttles writers for that).
/// The thread gets only the queue, never the writer, and `finish()` waits until the thread has
/// returned and then frees the buffers itself: an upload's 4 MiB are given back when it ends,
/// whenever Foundation lets go of the finished Thread (it keeps a Thread's closure for the
/// Thread's lifetime; a writer the closure held once leaked every upload's buffers).
final class PipelinedWriter: Sendable {
    static let bufferSize = 1 << 20
    static let poolSize = 4
    static let directAlignment = 4096

    private let queue: Queue

    /// Writes from `offset` on (what came before was written without it).
    init(fd: Int32, directFD: Int32? = nil, path: String, startingAt offset: Int64 = 0) {
        queue = Queue(fd: fd, directFD: directFD, path: path, offset: offset)
        let thread = Thread { [queue] in queue.drain() }
        thread.name = "lake-blob-writer"
        thread.start()
    }

    deinit {
        // A writer dropped without finish() still ends its thread and frees its buffers.
        try? queue.finish()
    }

    /// A free buffer to fill (waits while all are queued); throws the writer's error if it failed.
    func acquire() throws -> UnsafeMutableRawBufferPointer { try queue.acquire() }

    /// Queues `count` bytes of a buffer from `acquire()` for writing.
    func submit(_ buffer: UnsafeMutableRawBufferPointer, count: Int) { queue.submit(buffer, count: count) }

    /// Gives back a buffer that will not be written.
    func giveBack(_ buffer: UnsafeMutableRawBufferPointer) { queue.giveBack(buffer) }

    /// Waits until everything queued is written and the thread has ended, frees the buffers, and
    /// throws the first write error. Later calls only report that error again.
    func finish() throws { try queue.finish() }

    /// Whether the buffers are still allocated (false once `finish()` returned).
    var holdsBuffers: Bool { queue.holdsBuffers }

    /// What the writer thread and the caller share, under one condition.
    private final class Queue: @unchecked Sendable {
        private let fd: Int32
        private var directFD: Int32?
        private var offset: Int64
        private let path: String
        private let condition = NSCondition()
        private var all: [UnsafeMutableRawBufferPointer]
        private var free: [UnsafeMutableRawBufferPointer]
        private var queued: [(UnsafeMutableRawBufferPointer, Int)] = []
        private var failure: (any Error)?
        private var closing = false
        private var exited = false

        init(fd: Int32, directFD: Int32?, path: String, offset: Int64) {
            self.fd = fd
            self.directFD = directFD
            self.path = path
            self.offset = offset
            all = (0..<PipelinedWriter.poolSize).map { _ in
                UnsafeMutableRawBufferPointer.allocate(byteCount: PipelinedWriter.bufferSize, alignment: PipelinedWriter.directAlignment)
            }
            free = all
        }

        var holdsBuffers: Bool {
            condition.lock()
            defer { condition.unlock() }
            return !all.isEmpty
        }

        func acquire() throws -> UnsafeMutableRawBufferPointer {
            condition.lock()
            defer { condition.unlock() }
            while free.isEmpty && failure == nil { condition.wait() }
            if let failure { throw failure }
            return free.removeLast()
        }

        func submit(_ buffer: UnsafeMutableRawBufferPointer, count: Int) {
            condition.lock()
            queued.append((buffer, count))
            condition.broadcast()
            condition.unlock()
        }

        func giveBack(_ buffer: UnsafeMutableRawBufferPointer) {
            condition.lock()
            free.append(buffer)
            condition.broadcast()
            condition.unlock()
        }

        func finish() throws {
            condition.lock()
            closing = true
            condition.broadcast()
            // The thread returns once the queue is empty, whether or not a write failed.
            while !exited { condition.wait() }
            for buffer in all { buffer.deallocate() }
            all = []
            free = []
            let failure = self.failure
            condition.unlock()
            if let failure { throw failure }
        }

        /// The writer thread's loop: writes what is queued, in order, until closed and empty.
        func drain() {
            while true {
                condition.lock()
                while queued.isEmpty && !closing { condition.wait() }
                if queued.isEmpty && closing {
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
                    do { try write(UnsafeRawBufferPointer(rebasing: buffer[..<count])) } catch let e { error = e }
                }
                condition.lock()
                if let error, failure == nil { failure = error }
                free.append(buffer)
                condition.broadcast()
                condition.unlock()
            }
        }

        /// Writes at the end of what was written so far; on the writer thread.
        private func write(_ bytes: UnsafeRawBufferPointer) throws {
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
