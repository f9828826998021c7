import Testing
@testable import LakeFS

/// The eviction order the daemon's caches share (kept passthrough backings, handles of reads
/// without opens): oldest first by last use, and bounded however often the same keys come back.
@Suite struct OldestFirstTests {
    @Test func theOldestByLastUseComesFirst() {
        var order = OldestFirst<Int>()
        for key in 1...5 { order.add(key) }
        order.add(2)
        order.remove(3)
        #expect(order.count == 4 && order.contains(2) && !order.contains(3))
        var taken: [Int] = []
        while let key = order.takeOldest() { taken.append(key) }
        #expect(taken == [1, 4, 5, 2], "used again moves a key to the end; a removed key is never taken")
        order.add(7)
        order.add(8)
        order.remove(7)
        #expect(order.peekOldest() == 8 && order.peekOldest() == 8 && order.count == 1, "a peek skips removed keys and takes nothing")
        #expect(order.takeOldest() == 8)
        // The newest added again many times (a tree's every lookup): one entry, still newest.
        order.add(1)
        for _ in 0..<10_000 { order.add(2) }
        #expect(order.entriesKept == 2 && order.takeOldest() == 1 && order.takeOldest() == 2)
        #expect(order.count == 0 && order.takeOldest() == nil)
        order.add(3)
        #expect(order.takeOldest() == 3, "a key removed and added again is held again")
    }

    /// A loader reading the same 2,000 files epoch after epoch: each file's key is removed when
    /// it is opened and added when it is closed, and nothing is ever old enough to be taken. The
    /// order used to keep every addition (a list scanned on every close once it was long).
    @Test func keysComingBackEpochAfterEpochKeepItBounded() {
        var order = OldestFirst<UInt64>()
        var most = 0
        for _ in 0..<100 {
            for key in UInt64(0)..<2_000 {
                order.remove(key)
                order.add(key)
                most = max(most, order.entriesKept)
            }
        }
        #expect(order.count == 2_000)
        #expect(most <= 2 * 2_000 + 1, "entries kept peaked at \(most)")
        #expect(order.takeOldest() == 0, "the order survives compaction: the first key of the last epoch is the oldest")
    }

    /// Few keys held, many added and taken (a cache of 3 over 100,000 keys): bounded too.
    @Test func aSmallCacheOverManyKeysStaysSmall() {
        var order = OldestFirst<Int>()
        var most = 0
        for key in 0..<100_000 {
            order.add(key)
            if order.count > 3 { _ = order.takeOldest() }
            if key % 7 == 0 { order.add(key - 1) }
            most = max(most, order.entriesKept)
        }
        #expect(order.count <= 4)
        #expect(most <= 2 * OldestFirst<Int>.slack + 1, "entries kept peaked at \(most)")
    }
}
