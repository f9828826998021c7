import Foundation
import LakeSystem

/// The parts of one multipart upload, sent by a few threads at once while the caller reads and
/// hashes the next: one PUT at a time left a node's upload to a bucket at about two thirds of a
/// plain multipart client's speed (boto3 sends ten). Each thread keeps its own connection
/// (libcurl's, per thread) for all the parts it sends. At most `workers` parts are in flight
/// and one more waits, so memory stays at a few parts whatever the file's size. Without a thread
/// to be had (a process limit), the caller sends each part itself as it hands it over.
final class PartSenders: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var waiting: [(number: Int, body: Data)] = []
    private var closed = false
    private var running: Int
    private var etags: [Int: String] = [:]
    private var failure: (any Error)?

    /// Starts `workers` threads that send each part with `send` (which returns its ETag).
    init(workers: Int, send: @escaping @Sendable (Int, Data) throws -> String) {
        running = workers
        self.send = send
        for _ in 0..<workers where !DetachedThread.start("lake-s3-parts", { [self] in work(send) }) {
            condition.lock()
            running -= 1
            condition.unlock()
        }
    }

    private let send: @Sendable (Int, Data) throws -> String

    /// Hands over part `number`, waiting while one is already waiting; false once a part has
    /// failed (the caller stops reading).
    func add(_ number: Int, _ body: Data) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if running == 0 && !closed {
            // No sender thread was made: this one sends.
            guard failure == nil else { return false }
            condition.unlock()
            let outcome = Result { try send(number, body) }
            condition.lock()
            switch outcome {
            case .success(let etag): etags[number] = etag
            case .failure(let error): failure = error
            }
            return failure == nil
        }
        while !waiting.isEmpty && failure == nil { condition.wait() }
        guard failure == nil else { return false }
        waiting.append((number, body))
        condition.broadcast()
        return true
    }

    /// Waits until every part handed over was sent (or, after a failure, every send in flight
    /// has ended, so nothing is still being sent when the upload is aborted); the parts' ETags
    /// in order, or the first failure.
    func finish() throws -> [String] {
        condition.lock()
        defer { condition.unlock() }
        closed = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        if let failure { throw failure }
        return etags.keys.sorted().map { etags[$0]! }
    }

    private func work(_ send: (Int, Data) throws -> String) {
        while true {
            condition.lock()
            while waiting.isEmpty && !closed && failure == nil { condition.wait() }
            guard failure == nil, !waiting.isEmpty else {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let part = waiting.removeFirst()
            condition.broadcast()
            condition.unlock()
            let outcome = Result { try send(part.number, part.body) }
            condition.lock()
            switch outcome {
            case .success(let etag): etags[part.number] = etag
            case .failure(let error): if failure == nil { failure = error }
            }
            condition.broadcast()
            condition.unlock()
        }
    }
}
