import Foundation
import Glibc
import LakeCatalog
import LakeCore
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFS

/// Object folders are built from outlines (no provisions, params or tags) and their
/// `object.json` made only when someone wants it; the cache of views stays bounded by count and
/// by bytes whatever a walk does.
@Suite struct ObjectViewTests {
    let test: TestStore
    let fs: LakeFileSystem
    let caller = Caller(uid: 0, gid: 0, pid: getpid())

    init() throws {
        test = try TestStore()
        fs = LakeFileSystem(store: test.store, logger: TestLogger.make())
    }

    func upload(_ name: String, _ bytes: [UInt8]) throws -> LakeID {
        let (entry, plan) = try fs.create(parent: NodeID.incoming, name: FileName(name), mode: 0o644, caller: caller)
        try bytes.withUnsafeBytes { try fs.write(plan.handle, $0, at: 0) }
        try fs.flush(plan.handle, caller: caller)
        fs.release(plan.handle)
        return LakeID(unchecked: String(decoding: try fs.xattr(entry.node, name: "user.lake.id"), as: UTF8.self))
    }

    func read(_ node: UInt64) throws -> [UInt8] {
        let plan = try fs.open(node, flags: O_RDONLY, caller: caller)
        defer { fs.release(plan.handle) }
        guard case .bytes(let bytes) = try fs.read(plan.handle, offset: 0, count: 1 << 20) else {
            Issue.record("object.json is served from memory")
            return []
        }
        return bytes
    }

    @Test func aListingNamesObjectJSONWithoutMakingItAndAStatMakesItWhole() throws {
        let id = try upload("run.bin", Array("some bytes".utf8))
        _ = try test.store.catalog.updateObject(id, ObjectUpdate(description: String(repeating: "long words ", count: 300)), at: .now)
        _ = fs.invalidate([id])
        let folder = try fs.lookup(parent: NodeID.objects, name: FileName(id.rawValue))
        let listed = try fs.list(folder.node)
        #expect(listed.map(\.name) == ["file", "object.json", "run.bin"].map { FileName($0) })
        let json = try #require(listed.first { $0.name == FileName("object.json") })
        #expect(!json.isDescribed, "a listing does not read the whole object to size its object.json")
        #expect(listed.filter { $0.name != FileName("object.json") }.allSatisfy { $0.isDescribed })
        let view = try #require(fs.views.get(id: id))
        #expect(view.json.madeValue == nil && view.xattrs[0].madeValue == nil)

        // A stat (the kernel's LOOKUP) sizes it from the whole object, and the read gives as much.
        let entry = try fs.lookup(parent: folder.node, name: FileName("object.json"))
        let object = try #require(try test.store.object(id))
        let expected = Array((LakeJSON.string(object, pretty: true) + "\n").utf8)
        #expect(entry.attributes.size == Int64(expected.count) && entry.attributes.size > 3300)
        #expect(try read(entry.node) == expected)
        #expect(try fs.list(folder.node).first { $0.name == FileName("object.json") }?.isDescribed == true,
                "once made, its size is listed")
    }

    /// A processed VTK file's `object.json` is mostly its fields' statistics and histograms: it is
    /// made from the provisions as stored, never decoding them (the xattrs, which do, stay
    /// unmade), and is byte for byte what the decoded object encodes to.
    @Test func aProcessedFilesObjectJSONIsMadeFromItsStoredProvisions() throws {
        var ids: [LakeID] = []
        for name in ["special-binary.vtu", "special-ascii.vtu", "mixed-cells.vtp", "sphere.vtp"] {
            ids.append(try upload(name, Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.vtkDirectory + "/" + name)))))
        }
        let done = try ProcessingWait(worker: ProcessingWorker(store: test.store)).untilSettled(ids)
        #expect(done.allSatisfy { $0.status == .ready }, "\(done.map { ($0.file.name, $0.status, $0.failureReason) })")
        #expect(done.filter { !$0.provisions.isEmpty }.count >= 3, "\(done.map { ($0.file.name, $0.provisions.count) })")
        _ = fs.invalidate(Set(ids))
        for object in done {
            let folder = try fs.lookup(parent: NodeID.objects, name: FileName(object.id.rawValue))
            let entry = try fs.lookup(parent: folder.node, name: FileName("object.json"))
            let view = try #require(fs.views.get(id: object.id))
            #expect(view.json.madeValue != nil && view.xattrs[0].madeValue == nil, "sized without decoding the provisions")
            let expected = Array((LakeJSON.string(object, pretty: true) + "\n").utf8)
            #expect(entry.attributes.size == Int64(expected.count))
            let same = try read(entry.node) == expected   // (a Bool: the bytes would flood a failure's message)
            #expect(same, "\(object.file.name)")
        }
    }

    @Test func aManifestsFolderIsBuiltFromOutlinesOfItsChildren() throws {
        let child = try upload("part.vtu", Array("<VTKFile/>".utf8))
        let manifest = try upload("run.vtm", Array("""
            <VTKFile type="vtkMultiBlockDataSet"><vtkMultiBlockDataSet><DataSet index="0" file="part.vtu"/></vtkMultiBlockDataSet></VTKFile>
            """.utf8))
        let object = try #require(try test.store.object(manifest))
        try #require(object.contentReferences.first?.objectId == child, "the manifest links the file uploaded beside it")
        let folder = try fs.lookup(parent: NodeID.objects, name: FileName(manifest.rawValue))
        let part = try fs.lookup(parent: folder.node, name: FileName("part.vtu"))
        #expect(part.attributes.size == 10)
        #expect(String(decoding: try fs.xattr(part.node, name: "user.lake.id"), as: UTF8.self) == child.rawValue,
                "the block carries its own object's xattrs")
        // A change to the child drops the manifest's view (and only views that show it).
        let other = try upload("other.bin", [1, 2, 3])
        _ = try fs.lookup(parent: NodeID.objects, name: FileName(other.rawValue))
        let invalidated = fs.invalidate([child])
        #expect(fs.views.get(id: manifest) == nil && fs.views.get(id: other) != nil)
        #expect(invalidated.contains(.node(part.node)))
    }

    // MARK: the cache itself

    static func outline(_ index: Int, references: [LakeID] = []) -> ObjectOutline {
        ObjectOutline(id: LakeID.make(.object, at: UInt64(index)), fileName: "f\(index)", blob: (String(repeating: "a", count: 64), 1),
                      format: .unknown, status: .ready, owner: .legacy,
                      contentReferences: references.map { FileRef(path: "p/\($0.rawValue)", objectId: $0) },
                      createdAt: Timestamp(microseconds: 1), uploadedAt: nil, processedAt: nil)
    }

    static func view(_ seq: Int64, _ outline: ObjectOutline, description: String = "", made: MadeValues = MadeValues(budget: 1 << 30)) -> ObjectView {
        let load: @Sendable (LakeID) -> LakeObject? = { _ in
            var object = LakeObject(remembering: outline)
            object.description = description
            return object
        }
        return ObjectView(seq: seq, outline: outline, referenced: [:],
                          source: ObjectView.Source(made: made, load: load, document: { load($0).map(StoredObject.init)?.prettyJSON }))
    }

    @Test func theCacheDropsItsOldestHalfWhenFull() {
        let cache = ViewCache(capacity: 8)
        let outlines = (0..<9).map { Self.outline($0) }
        for (index, outline) in outlines.enumerated() { cache.put(Int64(index), Self.view(Int64(index), outline)) }
        #expect(cache.count == 5, "nine views in room for eight: the oldest four go")
        #expect((0..<4).allSatisfy { cache.get(Int64($0)) == nil && cache.get(id: outlines[$0].id) == nil })
        #expect((4..<9).allSatisfy { cache.get(Int64($0)) != nil && cache.get(id: outlines[$0].id)?.seq == Int64($0) })
    }

    @Test func viewsPutAndRemovedForAWeekLeaveNothingBehind() {
        let cache = ViewCache(capacity: 65_536)
        let child = LakeID.make(.object, at: 5)
        let manifest = Self.outline(1, references: [child])
        for _ in 0..<100_000 {
            cache.put(1, Self.view(1, manifest))
            cache.remove(1)
        }
        #expect(cache.count == 0 && cache.entriesKept <= 2 * 1024 + 1, "kept \(cache.entriesKept) order entries for no view")
        #expect(cache.removeReferencing([child]).isEmpty)
        cache.put(1, Self.view(1, manifest))
        cache.put(1, Self.view(1, manifest))
        #expect(cache.removeReferencing([child]).map(\.seq) == [1] && cache.count == 0)
    }

    /// A loader reading 50,000 small files in order, epoch after epoch, through `objects/`: with
    /// every view counted against a byte budget (1,600 bytes each), the cache dropped half of
    /// itself past about 42,000 and every pass rebuilt every view (rw warm passes 66 → 160 µs
    /// per file). Views are bounded by their count.
    @Test func viewsOfAsManyPlainFilesAsTheCacheCountsAllStay() {
        let cache = ViewCache(capacity: LakeFileSystem.viewsKept)
        let count = LakeFileSystem.viewsKept - 1
        let first = Self.outline(0)
        for index in 0..<count { cache.put(Int64(index), Self.view(Int64(index), index == 0 ? first : Self.outline(index))) }
        #expect(cache.count == count, "kept \(cache.count) of \(count) views")
        #expect(cache.get(0) != nil && cache.get(id: first.id)?.seq == 0, "the oldest is still there")
    }

    /// `find -size` over a dataset of processed files sizes every member's `object.json` (tens of
    /// KiB each), and the dataset's tree keeps those made values for as long as it is kept — the
    /// views long gone from their cache. Made values stay within their budget whoever holds
    /// them (here: every view, as a tree would), and one forgotten is made again, the same.
    @Test func madeValuesStayWithinTheirBudgetWhoeverHoldsThem() {
        let budget = 4 << 20
        let made = MadeValues(budget: budget)
        var held: [ObjectView] = []
        var highest = 0
        for index in 0..<2000 {
            let view = Self.view(Int64(index), Self.outline(index), description: String(repeating: "x", count: 32 << 10), made: made)
            held.append(view)
            #expect(view.json.bytes.count > 32 << 10)
            _ = view.xattrs[0].value
            highest = max(highest, made.bytes)
        }
        #expect(highest <= budget + 2 * (40 << 10), "held \(highest) bytes against a budget of \(budget)")
        #expect(held.first!.json.madeValue == nil && held.last!.json.madeValue != nil, "the oldest forgotten, the newest kept")
        let again = held.first!.json.bytes
        #expect(String(decoding: again, as: UTF8.self).contains(String(repeating: "x", count: 32 << 10)))
        #expect(made.bytes <= budget + 2 * (40 << 10))
    }

    /// The first forgotten value is made again with the same bytes (a settled object's
    /// `object.json` does not change), and a reader holding the old bytes keeps them.
    @Test func aForgottenValueIsMadeAgainTheSame() {
        let made = MadeValues(budget: 1)
        let view = Self.view(1, Self.outline(1), description: "first", made: made)
        let other = Self.view(2, Self.outline(2), description: "second", made: made)
        let bytes = view.json.bytes
        _ = other.json.bytes
        #expect(view.json.madeValue == nil, "past a budget of one byte, only the newest stays")
        #expect(view.json.bytes == bytes && view.json.madeValue != nil)
        #expect(made.count == 1)
    }
}

extension ObjectViewTests {
    /// `case.json` and `dataset.json` hold their members' pooled provisions; they are made with
    /// the provisions laid out from compact text (`EntityJSON`), byte for byte the encoder's.
    @Test func caseAndDatasetJSONAreTheEncodersBytes() throws {
        var ids: [LakeID] = []
        for name in ["special-binary.vtu", "special-raw.vtu", "sphere.vtp"] {
            ids.append(try upload(name, Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.vtkDirectory + "/" + name)))))
        }
        let done = try ProcessingWait(worker: ProcessingWorker(store: test.store)).untilSettled(ids)
        #expect(done.allSatisfy { $0.status == .ready })
        var cases: [LakeID] = []
        for (index, group) in [[ids[0], ids[1]], [ids[1]], [ids[2]]].enumerated() {
            let draft = LakeCase(id: LakeID.make(.case, at: UInt64(Timestamp.now.milliseconds) + UInt64(index)), name: "c\(index)",
                                 status: .unsettled, members: group.enumerated().map { CaseMember(objectId: $0.element, label: "m\($0.offset)") },
                                 params: [:], createdAt: .now, createdBy: "root")
            cases.append(try test.store.catalog.createCase(draft).id)
        }
        let draft = LakeDataset(id: LakeID.make(.dataset, at: UInt64(Timestamp.now.milliseconds)), name: "d", description: "",
                                status: .unsettled, caseIds: Array(cases.prefix(2)), createdAt: .now, createdBy: "root")
        let dataset = try test.store.catalog.createDataset(draft).id
        _ = try test.store.catalog.freezeDataset(dataset, augmentations: [:], at: .now)
        for id in cases {
            let item = try #require(try test.store.catalog.case(id))
            #expect(item.status == .ready && !item.provisions.isEmpty, "\(item.status) \(item.provisions.count)")
            let folder = try fs.lookup(parent: NodeID.cases, name: FileName(id.rawValue)).node
            let entry = try fs.lookup(parent: folder, name: FileName("case.json"))
            let expected = Array((LakeJSON.string(item, pretty: true) + "\n").utf8)
            #expect(entry.attributes.size == Int64(expected.count))
            let same = try read(entry.node) == expected
            #expect(same, "\(item.name)")
        }
        let frozen = try #require(try test.store.catalog.dataset(dataset))
        #expect(!frozen.provisions.isEmpty)
        let folder = try fs.lookup(parent: NodeID.datasets, name: FileName(dataset.rawValue)).node
        let entry = try fs.lookup(parent: folder, name: FileName("dataset.json"))
        let expected = Array((LakeJSON.string(frozen, pretty: true) + "\n").utf8)
        let same = try read(entry.node) == expected
        #expect(same && entry.attributes.size == Int64(expected.count))
    }
}
