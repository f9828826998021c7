import Foundation
import Synchronization
import Testing
@testable import LakeS3

/// The threads that send a multipart upload's parts (`PartSenders`).
@Suite struct PartSendersTests {
    /// Every part is sent once, several at a time but never more than the workers, and the
    /// ETags come back in part order whatever order the sends ended in.
    @Test func everyPartIsSentOnceAndTheETagsAreInOrder() throws {
        let sent = Mutex<[Int]>([]), inFlight = Atomic<Int>(0), most = Atomic<Int>(0)
        // Each odd part ends only after the even one behind it has (bounded, so a broken sender
        // fails the test instead of stalling it): the sends end out of order.
        let evenDone = (0...40).map { _ in DispatchSemaphore(value: 0) }
        let senders = PartSenders(workers: 4) { number, body in
            let now = inFlight.add(1, ordering: .relaxed).newValue
            _ = most.max(now, ordering: .relaxed)
            if number % 2 == 1, number < 40 { _ = evenDone[number + 1].wait(timeout: .now() + 30) }
            inFlight.subtract(1, ordering: .relaxed)
            sent.withLock { $0.append(number) }
            if number % 2 == 0 { evenDone[number].signal() }
            return "etag-\(number)-\(body.count)"
        }
        for number in 1...40 { #expect(senders.add(number, Data(count: number))) }
        let etags = try senders.finish()
        #expect(etags == (1...40).map { "etag-\($0)-\($0)" })
        #expect(sent.withLock { $0.sorted() } == Array(1...40))
        #expect(most.load(ordering: .relaxed) <= 4)
        #expect(sent.withLock { $0 } != Array(1...40), "the sends ended in order")
    }

    /// A part that fails stops the upload: parts handed over later are refused, nothing is
    /// still being sent once `finish` returns (the caller then aborts the upload), and `finish`
    /// throws that failure.
    @Test func aFailedPartStopsTheRestAndEndsEverySendFirst() throws {
        struct Refused: Error {}
        let inFlight = Atomic<Int>(0), attempted = Mutex<Set<Int>>([])
        // Parts after the failing one are held until the caller has been refused, so it cannot
        // have handed over every part first however the threads are scheduled.
        let gate = DispatchSemaphore(value: 0)
        let senders = PartSenders(workers: 3) { number, _ in
            inFlight.add(1, ordering: .relaxed)
            defer { inFlight.subtract(1, ordering: .relaxed) }
            attempted.withLock { _ = $0.insert(number) }
            if number == 5 { throw Refused() }
            if number > 5 { _ = gate.wait(timeout: .now() + 30) }
            return "e\(number)"
        }
        var handedOver = 0
        for number in 1...200 {
            guard senders.add(number, Data(count: 8)) else { break }
            handedOver = number
        }
        for _ in 0..<200 { gate.signal() }
        #expect(handedOver >= 5 && handedOver < 200, "\(handedOver) parts handed over")
        #expect(throws: Refused.self) { try senders.finish() }
        #expect(inFlight.load(ordering: .relaxed) == 0, "a part was still being sent when finish returned")
        #expect(attempted.withLock { $0.count } <= handedOver)
    }

    /// An upload with nothing to send (or whose reading failed at once) ends its threads too.
    @Test func noPartsAtAll() throws {
        let senders = PartSenders(workers: 4) { _, _ in "never" }
        #expect(try senders.finish().isEmpty)
    }
}
