import Foundation
import LakeSystem

/// Buffers filled by one thread and consumed in order by another (writing them, hashing them):
/// the filling thread goes on with the next buffer while the last one is consumed. Buffers come
/// from a small fixed pool, so memory stays bounded whatever the stream's length; a filler that
/// gets ahead waits for one.
///
/// The worker thread's closure holds only the queue, and `finish()` waits until the thread has
/// returned and then frees the buffers itself: a thread's closure lives as long as the thread
/// (Foundation's did), and a pipeline that closure held once leaked every upload's buffers.
///
/// Without a thread to be had (an account or cgroup at its process limit) the filler consumes
/// each buffer itself as it submits it: slower, but the upload ends — Foundation's `Thread`
/// failed silently there, and the filler waited for a free buffer for ever.
public final class BufferPipeline: Sendable {
    private let queue: Queue

    /// `count` buffers of `size` bytes (aligned for O_DIRECT); `consume` runs on the worker
    /// thread, once per submitted buffer, in order. After it throws, later buffers are not
    /// consumed and the error comes back from `acquire` and `finish`.
    public init(buffers count: Int, size: Int, name: String, consume: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void) {
        queue = Queue(count: count, size: size, consume: consume)
        if !DetachedThread.start(name, { [queue] in queue.drain() }) { queue.consumeOnSubmit() }
    }

    deinit {
        // Dropped without finish(), it still ends its thread and frees its buffers.
        try? queue.finish()
    }

    /// A free buffer to fill (waits while all are queued); throws the consumer's error if it failed.
    public func acquire() throws -> UnsafeMutableRawBufferPointer { try queue.acquire() }

    /// Queues the first `count` bytes of a buffer from `acquire()`.
    public func submit(_ buffer: UnsafeMutableRawBufferPointer, count: Int) { queue.submit(buffer, count: count) }

    /// Gives back a buffer that will not be submitted.
    public func giveBack(_ buffer: UnsafeMutableRawBufferPointer) { queue.giveBack(buffer) }

    /// Waits until everything queued is consumed and the thread has ended, frees the buffers, and
    /// throws the consumer's first error. Later calls only report that error again.
    public func finish() throws { try queue.finish() }

    /// Whether the buffers are still allocated (false once `finish()` returned).
    public var holdsBuffers: Bool { queue.holdsBuffers }

    /// What the worker thread and the filler share, under one condition.
    private final class Queue: @unchecked Sendable {
        private let consume: @Sendable (UnsafeRawBufferPointer) throws -> Void
        private let condition = NSCondition()
        private var all: [UnsafeMutableRawBufferPointer]
        private var free: [UnsafeMutableRawBufferPointer]
        private var queued: [(UnsafeMutableRawBufferPointer, Int)] = []
        private var failure: (any Error)?
        private var closing = false
        private var exited = false
        /// No worker thread: `submit` consumes on the filler's thread.
        private var inline = false

        init(count: Int, size: Int, consume: @escaping @Sendable (UnsafeRawBufferPointer) throws -> Void) {
            self.consume = consume
            all = (0..<count).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 4096) }
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

        func consumeOnSubmit() {
            condition.lock()
            inline = true
            exited = true
            condition.unlock()
        }

        func submit(_ buffer: UnsafeMutableRawBufferPointer, count: Int) {
            condition.lock()
            guard !inline else {
                condition.unlock()
                consumeOne(buffer, count: count)
                return
            }
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
            // The thread returns once the queue is empty, whether or not a buffer failed.
            while !exited { condition.wait() }
            for buffer in all { buffer.deallocate() }
            all = []
            free = []
            let failure = self.failure
            condition.unlock()
            if let failure { throw failure }
        }

        /// The worker's loop: consumes what is queued, in order, until closed and empty.
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
                condition.unlock()
                consumeOne(buffer, count: count)
            }
        }

        /// Consumes one buffer unless an earlier one failed, and frees it; called unlocked.
        private func consumeOne(_ buffer: UnsafeMutableRawBufferPointer, count: Int) {
            condition.lock()
            let failed = failure != nil
            condition.unlock()
            var error: (any Error)?
            if !failed {
                do { try consume(UnsafeRawBufferPointer(rebasing: buffer[..<count])) } catch let e { error = e }
            }
            condition.lock()
            if let error, failure == nil { failure = error }
            free.append(buffer)
            condition.broadcast()
            condition.unlock()
        }
    }
}
