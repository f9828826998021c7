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
final class PipelinedWriter: @unchecked Sendable {
    static let bufferSize = 1 << 20
    static let poolSize = 4
    static let directAlignment = 4096

    private let fd: Int32
    private var directFD: Int32?
    private var offset: Int64 = 0
    private let path: String
    private let condition = NSCondition()
    private var free: [UnsafeMutableRawBufferPointer]
    private var queued: [(UnsafeMutableRawBufferPointer, Int)] = []
    private var failure: (any Error)?
    private var closing = false
    private let all: [UnsafeMutableRawBufferPointer]

    /// Writes from `offset` on (what came before was written without it).
    init(fd: Int32, directFD: Int32? = nil, path: String, startingAt offset: Int64 = 0) {
        self.offset = offset
        self.fd = fd
        self.directFD = directFD
        self.path = path
        all = (0..<Self.poolSize).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: Self.directAlignment)
        }
        free = all
        // The thread holds the writer until it has drained and exited; the writer holds no
        // reference to the thread (Foundation keeps a Thread's closure for the Thread's lifetime,
        // so a stored Thread made a cycle that leaked every upload's buffers).
        let thread = Thread { self.drain() }
        thread.name = "lake-blob-writer"
        thread.start()
    }

    deinit {
        for buffer in all { buffer.deallocate() }
    }

    /// A free buffer to fill (waits while all are queued); throws the writer's error if it failed.
    func acquire() throws -> UnsafeMutableRawBufferPointer {
        condition.lock()
        defer { condition.unlock() }
        while free.isEmpty && failure == nil { condition.wait() }
        if let failure { throw failure }
        return free.removeLast()
    }

    /// Queues `count` bytes of a buffer from `acquire()` for writing.
    func submit(_ buffer: UnsafeMutableRawBufferPointer, count: Int) {
        condition.lock()
        queued.append((buffer, count))
        condition.broadcast()
        condition.unlock()
    }

    /// Gives back a buffer that will not be written.
    func giveBack(_ buffer: UnsafeMutableRawBufferPointer) {
        condition.lock()
        free.append(buffer)
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until everything queued is written; throws the first write error.
    func finish() throws {
        condition.lock()
        closing = true
        condition.broadcast()
        while free.count < Self.poolSize && failure == nil { condition.wait() }
        let failure = self.failure
        condition.unlock()
        if let failure { throw failure }
    }

    private func drain() {
        while true {
            condition.lock()
            while queued.isEmpty && !closing { condition.wait() }
            if queued.isEmpty && closing {
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
        let alignment = Self.directAlignment
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
