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
        let senders = PartSenders(workers: 4) { number, body in
            let now = inFlight.add(1, ordering: .relaxed).newValue
            _ = most.max(now, ordering: .relaxed)
            usleep(UInt32(1_000 * (number % 3)))   // ends out of order
            inFlight.subtract(1, ordering: .relaxed)
            sent.withLock { $0.append(number) }
            return "etag-\(number)-\(body.count)"
        }
        for number in 1...40 { #expect(senders.add(number, Data(count: number))) }
        let etags = try senders.finish()
        #expect(etags == (1...40).map { "etag-\($0)-\($0)" })
        #expect(sent.withLock { $0.sorted() } == Array(1...40))
        #expect(most.load(ordering: .relaxed) <= 4)
    }

    /// A part that fails stops the upload: parts handed over later are refused, nothing is
    /// still being sent once `finish` returns (the caller then aborts the upload), and `finish`
    /// throws that failure.
    @Test func aFailedPartStopsTheRestAndEndsEverySendFirst() throws {
        struct Refused: Error {}
        let inFlight = Atomic<Int>(0), attempted = Mutex<Set<Int>>([])
        let senders = PartSenders(workers: 3) { number, _ in
            inFlight.add(1, ordering: .relaxed)
            defer { inFlight.subtract(1, ordering: .relaxed) }
            attempted.withLock { _ = $0.insert(number) }
            if number == 5 { throw Refused() }
            usleep(2_000)
            return "e\(number)"
        }
        var handedOver = 0
        for number in 1...200 {
            guard senders.add(number, Data(count: 8)) else { break }
            handedOver = number
        }
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
