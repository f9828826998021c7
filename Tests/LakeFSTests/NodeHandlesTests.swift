import Testing
@testable import LakeFS

/// A dataset mount keeps one handle per inode read without an open; over a week of reading more
/// files than it keeps, the oldest go (and are closed), a forgotten inode's goes at once, and a
/// second open racing the first is closed rather than kept.
@Suite struct NodeHandlesTests {
    @Test func theOldestGoAndForgottenOnesGoAtOnce() throws {
        let handles = NodeHandles(capacity: 3)
        var next: UInt64 = 100
        var closed: [UInt64] = []
        func handle(_ node: UInt64) throws -> UInt64 {
            try handles.handle(for: node, open: { () throws(FSError) in next += 1; return next }, close: { closed.append($0) })
        }
        let first = try (1...3).map(handle)
        #expect(first == [101, 102, 103] && closed.isEmpty)
        #expect(try handle(2) == 102, "a kept handle is given again, not opened anew")
        #expect(try handle(4) == 104 && closed == [101], "the oldest goes when one more is kept")
        #expect(handles.forget(3) == 103 && handles.count == 2)
        #expect(try handle(3) == 105, "a forgotten inode is opened again")
        // Many more than it keeps: the count never passes the capacity; every handle dropped is closed once.
        for node in UInt64(10)..<UInt64(10_010) { _ = try handle(node) }
        #expect(handles.count == 3)
        #expect(Set(closed).count == closed.count && closed.count + handles.count + 1 == Int(next - 100))
    }

    /// Handles whose blob files were removed (a node cache making room) are dropped and handed
    /// back for closing; the others stay, and a dropped node opens anew at its next read.
    @Test func handlesPickedAreDroppedAndOpenedAgain() throws {
        let handles = NodeHandles(capacity: 10)
        var next: UInt64 = 100
        func handle(_ node: UInt64) throws -> UInt64 {
            try handles.handle(for: node, open: { () throws(FSError) in next += 1; return next }, close: { _ in })
        }
        _ = try (1...4).map(handle)
        #expect(handles.drop { _ in false }.isEmpty && handles.count == 4)
        #expect(Set(handles.drop { $0 == 102 || $0 == 104 }) == [102, 104] && handles.count == 2)
        #expect(try handle(1) == 101 && handle(2) == 105, "node 1 kept its handle; node 2 opens again")
        #expect(handles.entriesKept <= 2 * handles.count + 1)
    }

    /// A week of epochs over fewer files than it keeps, the kernel forgetting inodes between
    /// them (memory pressure, `drop_caches`): the eviction order kept an entry per handle ever
    /// made, since nothing was ever old enough to be dropped.
    @Test func inodesForgottenAndReadAgainKeepTheOrderBounded() throws {
        let handles = NodeHandles(capacity: 4096)
        var next: UInt64 = 0
        var closed = 0
        for _ in 0..<50 {
            for node in UInt64(1)...1_000 {
                _ = try handles.handle(for: node, open: { () throws(FSError) in next += 1; return next }, close: { _ in closed += 1 })
            }
            for node in UInt64(1)...1_000 { _ = handles.forget(node) }
        }
        #expect(handles.count == 0 && closed == 0 && next == 50_000)
        #expect(handles.entriesKept <= 2 * 1_000, "\(handles.entriesKept) entries kept for 1,000 inodes")
    }

    @Test func aHandleOpenedByARacingReadIsClosed() throws {
        let handles = NodeHandles(capacity: 8)
        var closed: [UInt64] = []
        let kept = try handles.handle(for: 7, open: { () throws(FSError) in
            // Another read of the same inode gets its handle in while this one opens.
            _ = try handles.handle(for: 7, open: { () throws(FSError) in 1 }, close: { closed.append($0) })
            return 2
        }, close: { closed.append($0) })
        #expect(kept == 1 && closed == [2])
    }
}
