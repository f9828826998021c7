import Glibc
import LakeCore
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFS

/// Case and dataset trees are built into views kept in memory: a daemon browsing every case of
/// a large lake kept them all (about 12 KiB per case of two members, without end). They are now
/// kept within a node budget, the least recently used going first; a tree dropped so is rebuilt
/// with the same inode numbers when asked again, and a change to an object it shows still
/// clears the kernel's caches of it.
@Suite struct EntityTreesTests {
    let test: TestStore
    let caller = Caller(uid: 0, gid: 0, pid: getpid())

    init() throws { test = try TestStore() }

    /// Stores a small file through `incoming/`, as a copy into the mount does; its object id.
    func store(_ name: String, on fs: LakeFileSystem) throws -> LakeID {
        let (entry, plan) = try fs.create(parent: NodeID.incoming, name: FileName(name), mode: 0o644, caller: caller)
        try Array(name.utf8).withUnsafeBytes { try fs.write(plan.handle, $0, at: 0) }
        try fs.flush(plan.handle, caller: caller)
        fs.release(plan.handle)
        return LakeID(unchecked: String(decoding: try fs.xattr(entry.node, name: "user.lake.id"), as: UTF8.self))
    }

    /// `find -size` or `ls -l` in a case tree sizes every member's `object.json` (tens of KiB for
    /// a processed file), and the tree keeps what was made for as long as it is kept: a dataset
    /// of 100,000 processed files would hold gigabytes. What views make stays within its budget
    /// wherever it is held, and a value forgotten comes back the same when asked again.
    @Test func objectJSONsSizedInACaseTreeStayWithinTheirBudget() throws {
        let budget = 4096
        let fs = LakeFileSystem(store: test.store, logger: TestLogger.make(), madeBudget: budget)
        let objects = try (0..<30).map { try store("g\($0).txt", on: fs) }
        let draft = LakeCase(id: LakeID.make(.case, at: UInt64(Timestamp.now.milliseconds)), name: "many", status: .unsettled,
                             members: objects.enumerated().map { CaseMember(objectId: $0.element, label: "m\($0.offset)") },
                             params: [:], createdAt: .now, createdBy: "root")
        let id = try test.store.catalog.createCase(draft).id
        let folder = try fs.lookup(parent: NodeID.cases, name: FileName(id.rawValue)).node
        var sizes: [Int64] = []
        var highest = 0
        var firstOpen: OpenPlan?
        for index in objects.indices {
            let member = try fs.lookup(parent: folder, name: FileName("m\(index)")).node
            let entry = try fs.lookup(parent: member, name: FileName("object.json"))
            sizes.append(entry.attributes.size)
            // A reader with the first one open while it is forgotten keeps its bytes.
            if index == 0 { firstOpen = try fs.open(entry.node, flags: O_RDONLY, caller: caller) }
            highest = max(highest, fs.madeValues.bytes)
        }
        let held = try #require(firstOpen)
        defer { fs.release(held.handle) }
        guard case .bytes(let heldBytes) = try fs.read(held.handle, offset: 0, count: 1 << 20) else {
            Issue.record("object.json is served from memory")
            return
        }
        #expect(fs.views.get(id: objects[0])?.json.madeValue == nil, "the first made was forgotten while open")
        #expect(heldBytes.count == Int(sizes[0]), "the open file keeps the bytes it opened")
        let largest = Int(sizes.max() ?? 0)
        #expect(largest > 0 && sizes.reduce(0, +) > Int64(4 * budget), "the sizes made add up to more than the budget")
        #expect(highest <= budget + largest, "made values held \(highest) bytes against a budget of \(budget)")
        let member = try fs.lookup(parent: folder, name: FileName("m0")).node
        let json = try fs.lookup(parent: member, name: FileName("object.json")).node
        #expect(try fs.attributes(json).size == sizes[0], "forgotten and made again, the same size")
        let plan = try fs.open(json, flags: O_RDONLY, caller: caller)
        defer { fs.release(plan.handle) }
        guard case .bytes(let bytes) = try fs.read(plan.handle, offset: 0, count: 1 << 20) else {
            Issue.record("object.json is served from memory")
            return
        }
        #expect(bytes == heldBytes && String(decoding: bytes, as: UTF8.self).contains(objects[0].rawValue))
    }

    @Test func treesAreKeptWithinABudgetAndComeBackTheSame() throws {
        let fs = LakeFileSystem(store: test.store, logger: TestLogger.make(), treeNodesKept: 60)
        let objects = try (0..<40).map { try store("f\($0).txt", on: fs) }
        var cases: [LakeID] = []
        for pair in 0..<20 {
            let draft = LakeCase(id: LakeID.make(.case, at: UInt64(Timestamp.now.milliseconds) + UInt64(pair)), name: "c\(pair)", status: .unsettled,
                                 members: [CaseMember(objectId: objects[2 * pair], label: "a"), CaseMember(objectId: objects[2 * pair + 1], label: "b")],
                                 params: [:], createdAt: .now, createdBy: "root")
            cases.append(try test.store.catalog.createCase(draft).id)
        }
        // Browse every case as `find` does: its folder, its listing, a member's file.
        var files: [LakeID: UInt64] = [:]
        var most = 0
        for id in cases {
            let folder = try fs.lookup(parent: NodeID.cases, name: FileName(id.rawValue)).node
            #expect(try fs.list(folder).contains { $0.name == FileName("a") })
            let member = try fs.lookup(parent: folder, name: FileName("a")).node
            files[id] = try fs.lookup(parent: member, name: FileName("file")).node
            most = max(most, fs.trees.kept.nodes)
        }
        let perCase = fs.trees.kept.nodes / max(1, fs.trees.kept.views)
        #expect(most <= 60 + perCase, "views held \(most) nodes against a budget of 60")
        #expect(fs.trees.kept.views < cases.count && fs.trees.kept.departed > 0)

        // The first case's tree was dropped: asked again, it is rebuilt with the same numbers.
        let first = cases[0]
        let folder = try fs.lookup(parent: NodeID.cases, name: FileName(first.rawValue)).node
        let member = try fs.lookup(parent: folder, name: FileName("a")).node
        #expect(try fs.lookup(parent: member, name: FileName("file")).node == files[first])
        #expect(try fs.attributes(files[first]!).size == Int64("f0.txt".utf8.count))

        // A change to an object shown by a dropped tree still names that tree for the kernel.
        let dropped = cases[5]
        let invalidations = fs.invalidate([objects[10]])
        let names = invalidations.compactMap { item -> String? in
            if case .entry(let parent, let name) = item, parent == NodeID.cases { return String(decoding: name.bytes, as: UTF8.self) }
            return nil
        }
        #expect(names.contains(dropped.rawValue), "the tree of case c5, dropped from memory, must be cleared from the kernel's caches")
        let cleared = Set(invalidations.compactMap { item -> UInt64? in if case .node(let node) = item { node } else { nil } })
        #expect(cleared.contains(files[dropped]!))
    }

    static func tree(_ id: LakeID, nodes: Int) -> TreeView {
        var builder = TreeBuilder(rootXattrs: LazyXattrs({ [:] }))
        for index in 1..<nodes { builder.add("f\(index)", .bytes([1]), in: 0, entity: 0) }
        return TreeView(id: id, builder: builder, modified: .now, isSettled: true, owner: Ownership(uid: 0, gid: 0, mode: 0o755))
    }

    /// A dataset larger than the budget, in use by a training job, stays while someone looks at
    /// cases beside it: what is kept may reach twice the largest tree. The small ones come and
    /// go; once the large one is forgotten, the budget is the budget again.
    @Test func aTreeLargerThanTheBudgetStaysBesideSmallOnes() throws {
        let trees = EntityTrees(store: test.store, nodesKept: 60)
        let dataset = LakeID.make(.dataset, at: 1)
        trees.remember(Self.tree(dataset, nodes: 100))
        for index in 0..<50 {
            trees.remember(Self.tree(LakeID.make(.case, at: UInt64(index + 2)), nodes: 10))
            #expect(trees.cached(dataset) != nil, "the dataset in use was dropped after \(index + 1) cases")
            #expect(trees.kept.nodes <= 200)
        }
        #expect(trees.kept.views > 2, "small trees are kept beside it")
        _ = trees.forget([dataset])
        trees.remember(Self.tree(LakeID.make(.case, at: 99), nodes: 10))
        #expect(trees.kept.nodes <= 60, "without it, the budget holds: \(trees.kept.nodes) nodes")
    }

    /// Trees dropped longer ago than the kernel's longest timeout are forgotten altogether.
    @Test func droppedTreesAreForgottenOnceTheKernelCanHoldNothingOfThem() throws {
        let clock = ManualClock()
        let trees = EntityTrees(store: test.store, nodesKept: 1, now: { clock.now })
        let ids = (1...5).map { LakeID.make(.case, at: UInt64($0)) }
        for id in ids {
            var builder = TreeBuilder(rootXattrs: LazyXattrs({ [:] }))
            builder.add("case.json", .bytes([1]), in: 0, entity: 0)
            trees.remember(TreeView(id: id, builder: builder, modified: .now, isSettled: true,
                                    owner: Ownership(uid: 0, gid: 0, mode: 0o755)))
        }
        #expect(trees.kept.views == 2 && trees.kept.departed == 3, "twice the largest (two nodes) is kept")
        // Read again and dropped again, a tree is still one departure (its latest).
        for _ in 0..<10 {
            for id in ids {
                var builder = TreeBuilder(rootXattrs: LazyXattrs({ [:] }))
                builder.add("case.json", .bytes([1]), in: 0, entity: 0)
                if trees.cached(id) == nil {
                    trees.remember(TreeView(id: id, builder: builder, modified: .now, isSettled: true, owner: Ownership(uid: 0, gid: 0, mode: 0o755)))
                }
            }
        }
        #expect(trees.kept.views == 2 && trees.kept.departed == 3)
        #expect(trees.forget([ids[1]]).map(\.id) == [ids[1]])
        #expect(trees.kept.departed == 2, "a departed tree named once is done with")
        clock.advance(seconds: LakeFileSystem.longTimeout + 1)
        #expect(trees.forget([ids[2]]).isEmpty && trees.kept.departed == 0)
    }
}

/// Time that moves when a test says so.
final class ManualClock: @unchecked Sendable {
    private(set) var now: UInt64 = 1_000_000_000
    func advance(seconds: Double) { now += UInt64(seconds * 1e9) }
}
