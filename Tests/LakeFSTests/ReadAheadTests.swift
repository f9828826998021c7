import Foundation
import LakeModel
import LakeTestSupport
import Synchronization
import Testing
@testable import LakeFS

/// `ReadAhead` on its own: which files a reader's opens make it fetch, on its own threads.
@Suite struct ReadAheadTests {
    /// What the read-ahead fetched, in the order its threads got there.
    final class Fetched: Sendable {
        let ids = Mutex<[String]>([])
        func record(_ id: String) { ids.withLock { $0.append(id) } }
        var all: Set<String> { Set(ids.withLock { $0 }) }
        var count: Int { ids.withLock { $0.count } }
    }

    static func order(_ key: ReadAhead.Order.Key = .objects, count: Int, size: @escaping @Sendable (Int) -> Int64 = { _ in 64 << 10 },
                      id: @escaping @Sendable (Int) -> String = { "blob\($0)" }) -> ReadAhead.Order {
        ReadAhead.Order(key: key, count: count) { (id($0), size($0)) }
    }

    func names(_ range: ClosedRange<Int>) -> Set<String> { Set(range.map { "blob\($0)" }) }

    @Test func filesOpenedInOrderFetchTheNextOnesWithAGrowingWindow() {
        let fetched = Fetched()
        let ahead = ReadAhead { id, _ in fetched.record(id) }
        let order = Self.order(count: 200)
        ahead.opened(order, at: 0)
        ahead.opened(order, at: 1)
        #expect(ahead.queuedCount == 0, "two files are not yet an order")
        ahead.opened(order, at: 2)
        #expect(eventually(30) { fetched.count == 4 } && fetched.all == names(3...6))
        ahead.opened(order, at: 3)
        #expect(eventually(30) { fetched.count == 9 } && fetched.all == names(3...11), "the window doubles to 8 files past the one read")
        for position in 4...40 { ahead.opened(order, at: position) }
        // At the full window threads are woken for batches: the last few queued may wait for
        // the next opens.
        let least = 70 - (ReadAhead.wakeBatch - 1)
        #expect(eventually(30) { fetched.count >= least && ahead.isIdle })
        #expect(fetched.all.isSubset(of: names(3...72)) && fetched.all.isSuperset(of: names(3...(2 + least))),
                "never more than \(ReadAhead.maximumWindow) files past the one read: \(fetched.all.count)")
        #expect(ahead.fetchedCount == fetched.count && fetched.count == fetched.all.count, "nothing fetched twice")
    }

    @Test func filesOpenedOutOfOrderFetchNothing() {
        let fetched = Fetched()
        let ahead = ReadAhead { id, _ in fetched.record(id) }
        let order = Self.order(count: 500)
        // Backwards, far jumps, the same file again and again: nothing is queued at all.
        for position in stride(from: 100, to: 0, by: -1) { ahead.opened(order, at: position) }
        for position in [7, 400, 30, 300, 60, 200, 90, 480] { ahead.opened(order, at: position) }
        for _ in 0..<10 { ahead.opened(order, at: 250) }
        #expect(ahead.queuedCount == 0 && fetched.count == 0)
    }

    /// A shuffled epoch (what most training loaders read after the first): by chance a file
    /// now and then follows one of the last sixteen closely, but little is fetched for nothing.
    @Test func aShuffledReaderFetchesLittle() {
        let fetched = Fetched()
        let ahead = ReadAhead { id, _ in fetched.record(id) }
        let order = Self.order(count: 1000)
        var positions = Array(0..<1000)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in positions.indices.reversed() {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            positions.swapAt(index, Int(state >> 33) % (index + 1))
        }
        for position in positions { ahead.opened(order, at: position) }
        #expect(eventually(30) { ahead.isIdle })
        #expect(ahead.queuedCount < 100, "\(ahead.queuedCount) of 1,000 files queued for a shuffled reader")
    }

    @Test func aReaderSkippingAFewFilesStillReadsInOrderAndTheEndIsNotPassed() {
        let fetched = Fetched()
        let ahead = ReadAhead { id, _ in fetched.record(id) }
        let order = Self.order(count: 12)
        // A member's file is listed twice (`file` and its own name): a reader takes every other one.
        for position in stride(from: 0, to: 12, by: 2) { ahead.opened(order, at: position) }
        #expect(eventually(30) { fetched.all == names(5...11) }, "\(fetched.all.sorted())")
        #expect(fetched.count == 7, "nothing past the last file, nothing twice")
    }

    @Test func readersOfTwoTreesAtOnceAreFollowedEach() {
        let fetched = Fetched()
        let ahead = ReadAhead { id, _ in fetched.record(id) }
        let tree = LakeID.make(.dataset, at: 1_000)
        let objects = Self.order(.objects, count: 100)
        let dataset = Self.order(.tree(tree, 0), count: 100, id: { "tree\($0)" })
        for position in 0..<3 {
            ahead.opened(objects, at: 50 + position)
            ahead.opened(dataset, at: 10 + position)
        }
        let expected = names(53...56).union((13...16).map { "tree\($0)" })
        #expect(eventually(30) { fetched.all == expected }, "\(fetched.all.sorted())")
        #expect(fetched.count == expected.count)
    }

    @Test func largeBlobsAreLeftToTheKernel() {
        let fetched = Fetched()
        let ahead = ReadAhead { id, _ in fetched.record(id) }
        // Opening 2 queues 3…6, opening 3 queues 7…9 (the end); 6 is too large to fetch whole.
        let order = Self.order(count: 10, size: { $0 == 6 ? ReadAhead.largestBlob + 1 : 1 << 20 })
        for position in 0...3 { ahead.opened(order, at: position) }
        #expect(eventually(30) { fetched.all == names(3...5).union(names(7...9)) && ahead.isIdle }, "\(fetched.all.sorted())")
        #expect(fetched.count == 6)
    }

    /// A loader's workers taking the next file from one sampler (so they open files nearly,
    /// not exactly, in order): one reader in order, nearly every blob fetched once, the threads end.
    @Test func workersTakingFilesInTurnAreOneReaderInOrder() {
        let fetched = Fetched()
        let ahead = ReadAhead { id, _ in fetched.record(id) }
        let order = Self.order(count: 2000)
        let sampler = Atomic<Int>(0)
        let group = DispatchGroup()
        for _ in 0..<4 {
            group.enter()
            Thread {
                while case let position = sampler.add(1, ordering: .relaxed).oldValue, position < 2000 {
                    ahead.opened(order, at: position)
                }
                group.leave()
            }.start()
        }
        group.wait()
        #expect(eventually(30) { ahead.isIdle })
        let ids = fetched.ids.withLock { $0 }
        // Workers racing at the start may be taken for two readers for a file or two.
        #expect(ids.count - Set(ids).count <= 20, "\(ids.count - Set(ids).count) blobs fetched twice")
        #expect(ids.count >= 1900, "\(ids.count) of 2,000 files fetched")
    }

    /// A long epoch whose fetches fall behind (a slow disk): the queue is worked through in
    /// order and kept compact, and every file is fetched once.
    @Test func aLongEpochAheadOfSlowFetchesIsFetchedInOrder() {
        let fetched = Fetched()
        // Every fetch waits at a gate (taken and passed on) until the epoch's opens are done.
        let gate = DispatchSemaphore(value: 0)
        let ahead = ReadAhead { id, _ in
            gate.wait()
            gate.signal()
            fetched.record(id)
        }
        let order = Self.order(count: 20_000)
        for position in 0..<20_000 { ahead.opened(order, at: position) }
        gate.signal()
        #expect(eventually(30) { ahead.isIdle })
        let ids = fetched.ids.withLock { $0 }
        #expect(ids.count == 19_997 && Set(ids) == names(3...19_999), "\(ids.count) fetched")
    }

    /// Readers going through the same files apart (two jobs over one dataset): each is followed.
    @Test func twoReadersOfOneOrderApartAreEachFollowed() {
        let fetched = Fetched()
        let ahead = ReadAhead { id, _ in fetched.record(id) }
        let order = Self.order(count: 400)
        for position in 0..<100 {
            ahead.opened(order, at: position)
            ahead.opened(order, at: 200 + position)
        }
        // The last files queued may wait for a batch to fill (`wakeBatch`).
        let tail = ReadAhead.wakeBatch - 1
        let expected = names(3...131).union(names(203...331))
        let certain = names(3...(131 - tail)).union(names(203...(331 - tail)))
        #expect(eventually(30) { fetched.all.isSuperset(of: certain) && ahead.isIdle }, "\(fetched.all.count) fetched")
        #expect(fetched.all.isSubset(of: expected) && fetched.count == fetched.all.count)
    }

    /// A daemon up for a week of reading: the bytes read ahead and checked that no READ took
    /// stay within their budget, however many small files were read ahead.
    @Test func bytesReadAheadAndCheckedStayWithinTheirBudget() {
        let clock = Mutex<UInt64>(1_000)
        let verified = VerifiedBlobs(now: { clock.withLock { $0 } })
        let size = 64 << 10
        for index in 0..<1000 { verified.put("blob\(index)", [UInt8](repeating: UInt8(index & 0xff), count: size)) }
        let kept = VerifiedBlobs.budget / size
        #expect(verified.heldBytes == kept * size, "\(verified.heldBytes) bytes held")
        // The files nearest the reader are kept; the farther ones are not pushed in over them.
        #expect(verified.refusedCount == 1000 - kept)
        #expect(verified.bytes("blob\(kept)", at: 0, count: size) == nil, "past the budget: not kept")
        #expect(!verified.admits(size))
        let first = verified.bytes("blob0", at: 0, count: size)
        #expect(first?.count == size && first?.first == 0)
        #expect(verified.bytes("blob0", at: 0, count: size) == nil, "given out once read to its end")
        // A file read in pieces is given out piece by piece, and goes with its last one.
        let pieces = [0, 1, 2, 3].map { verified.bytes("blob1", at: Int64($0 * size / 4), count: size / 4) }
        #expect(pieces.allSatisfy { $0?.count == size / 4 && $0?.first == 1 })
        #expect(verified.bytes("blob1", at: 0, count: size) == nil)
        #expect(verified.admits(size), "room made by reading")
        // Bytes nobody read for a while (a reader that stopped) give way to newer ones.
        for index in kept...(kept + 1) { verified.put("blob\(index)", [UInt8](repeating: 7, count: size)) }
        verified.put("late", [UInt8](repeating: 9, count: size))
        #expect(verified.bytes("late", at: 0, count: size) == nil, "fresh bytes are not pushed out")
        clock.withLock { $0 += VerifiedBlobs.staleAfterNanoseconds + 1 }
        verified.put("late", [UInt8](repeating: 9, count: size))
        #expect(verified.bytes("blob2", at: 0, count: size) == nil, "the oldest, unread, went")
        #expect(verified.bytes("late", at: 0, count: size)?.first == 9)
        #expect(verified.heldBytes <= VerifiedBlobs.budget)
    }

    /// A large case or dataset (here 8,000 members, four nodes each) has its reading orders made
    /// on a thread of its own: the open that asks first gets none (no stall on its FUSE thread),
    /// a later one gets both, right — the listings' order by label and the manifest's (the
    /// builder's), here the reverse.
    @Test func aLargeTreesReadingOrdersAreMadeBesideTheFirstOpen() {
        let members = 8_000
        var builder = TreeBuilder(rootXattrs: LazyXattrs({ [:] }))
        let cases = builder.add("cases", .folder([:]), in: 0, entity: 0)
        let folder = builder.add("c1", .folder([:]), in: cases, entity: 0)
        var files: [Int: UInt32] = [:]
        for index in (0..<members).reversed() {
            let member = builder.add(String(format: "m%05d", index), .folder([:]), in: folder, entity: 0)
            let sha = String(format: "%064x", index)
            files[index] = builder.add("file", .blob(id: sha, size: 4096), in: member, entity: 0)
            builder.add("s\(index).bin", .blob(id: sha, size: 4096), in: member, entity: 0)
            builder.add("object.json", .bytes([1]), in: member, entity: 0)
        }
        let view = TreeView(id: LakeID.make(.dataset, at: 1), builder: builder, modified: .now, isSettled: true,
                            owner: Ownership(uid: 0, gid: 0, mode: 0o755))
        #expect(view.nodes.count >= TreeView.ordersMadeInLineBelow)
        #expect(view.readingOrders == nil, "made in line")
        #expect(eventually(60) { view.readingOrders != nil })
        guard let orders = view.readingOrders, orders.count == 2 else {
            Issue.record("two orders expected: \(view.readingOrders?.count ?? -1)")
            return
        }
        #expect(orders[0].blobs.count == members && orders[1].blobs.count == members)
        #expect(orders[0].position(files[0]!) == 0 && orders[0].position(files[members - 1]!) == members - 1)
        #expect(orders[1].position(files[members - 1]!) == 0 && orders[1].position(files[0]!) == members - 1)
        #expect(orders[0].position(folder) == nil)
    }
}
