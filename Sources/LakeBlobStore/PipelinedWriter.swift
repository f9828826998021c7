import Foundation
import LakeSystem

/// Writes buffers to a file descriptor on its own thread, so the caller's hashing of the next
/// chunk overlaps the kernel's copy of the previous one. Buffers come from a small fixed pool,
/// so memory stays bounded whatever the file size.
final class PipelinedWriter: @unchecked Sendable {
    static let bufferSize = 1 << 20
    static let poolSize = 4

    private let fd: Int32
    private let path: String
    private let condition = NSCondition()
    private var free: [UnsafeMutableRawBufferPointer]
    private var queued: [(UnsafeMutableRawBufferPointer, Int)] = []
    private var failure: (any Error)?
    private var closing = false
    private var thread: Thread?
    private let all: [UnsafeMutableRawBufferPointer]

    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
        all = (0..<Self.poolSize).map { _ in
            UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferSize, alignment: 4096)
        }
        free = all
        // The thread holds the writer until it has drained and exited.
        let thread = Thread { self.drain() }
        thread.name = "lake-blob-writer"
        self.thread = thread
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
                do { try Syscall.writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[..<count]), path: path) } catch let e { error = e }
            }
            condition.lock()
            if let error, failure == nil { failure = error }
            free.append(buffer)
            condition.broadcast()
            condition.unlock()
        }
    }
}
