import Dispatch
import LakeCore
import LakeModel
import LakeSystem
import Synchronization

/// `cases/<id>/` and `datasets/<frozen-id>/`: trees built from the catalog into `TreeView`s.
/// Their inode numbers derive from the catalog's never-reused `seq` of the case or dataset, as an
/// object's do: 2^61, a bit for datasets, then `seq << 24 | local`. A number means the same node
/// across remounts.
final class EntityTrees: Sendable {
    static let base: UInt64 = 1 << 61
    static let localBits: UInt64 = 24
    /// In a block number (an inode's bits above the local ones): the entity is a dataset. Seqs
    /// stay below it (2^36 cases or datasets).
    static let datasetBit: UInt64 = 1 << 36

    /// The catalog's numbers of entities seen, both ways.
    private let numbers = Mutex<(seq: [LakeID: Int64], id: [UInt64: LakeID])>(([:], [:]))
    private let store: Store
    /// Views built, least recently used first out once they hold more than `nodesKept` nodes
    /// or twice the largest view kept, whichever is more (the newest always stays): a daemon
    /// browsing every case of a large lake for a week kept them all (about 12 KiB per case of
    /// two members), while a rebuilt view costs catalog reads and gives the same inode numbers.
    /// Twice the largest, so that a dataset larger than the budget, read by a training job, is
    /// not rebuilt each time someone looks at a case beside it. A view dropped so leaves what a
    /// later change needs to clear the kernel's caches of its tree (the kernel keeps them for up
    /// to `LakeFileSystem.longTimeout` after the daemon last answered for it): its id, its node
    /// count and the objects it shows, for that long.
    private struct Kept {
        var views: [LakeID: TreeView] = [:]
        var order = OldestFirst<LakeID>()
        var nodes = 0
        /// Nodes of the largest view kept, and how many views of each size are kept (so the
        /// largest is found again among the sizes, never by going through every view).
        var largest = 0
        var sizes: [Int: Int] = [:]
        /// Views dropped within the kernel's longest timeout (one per tree: a tree kept again
        /// leaves this list, and dropped again comes back with the later time), oldest first.
        var departed: [LakeID: Departed] = [:]
        var departures = OldestFirst<LakeID>()
        /// Nodes dropped since malloc last gave free memory back.
        var droppedSinceTrim = 0

        mutating func add(_ view: TreeView) {
            nodes += view.nodes.count
            sizes[view.nodes.count, default: 0] += 1
            largest = max(largest, view.nodes.count)
        }

        mutating func subtract(_ view: TreeView) {
            let size = view.nodes.count
            nodes -= size
            sizes[size, default: 1] -= 1
            if sizes[size] == 0 {
                sizes.removeValue(forKey: size)
                if size == largest { largest = sizes.keys.max() ?? 0 }
            }
        }
    }

    /// What is left of a view dropped from memory: enough to name its tree's nodes.
    struct Departed: Sendable {
        let id: LakeID
        let nodeCount: Int
        let objectIDs: Set<LakeID>
        let at: UInt64

        init(_ view: TreeView, at: UInt64) {
            id = view.id
            nodeCount = view.nodes.count
            objectIDs = view.objectIDs
            self.at = at
        }
    }

    private let views = Mutex(Kept())
    let nodesKept: Int
    let caseListing = Mutex<[EntitySummary]?>(nil)
    let datasetListing = Mutex<[EntitySummary]?>(nil)

    /// Nanoseconds since boot (tests give their own).
    private let now: @Sendable () -> UInt64

    init(store: Store, nodesKept: Int = 1 << 19, now: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.store = store
        self.nodesKept = nodesKept
        self.now = now
    }

    /// Views kept, their nodes, and views dropped whose trees the kernel may still cache (tests).
    var kept: (views: Int, nodes: Int, departed: Int) {
        views.withLock { ($0.views.count, $0.nodes, $0.departed.count) }
    }

    static func owns(_ node: UInt64) -> Bool { node >= base && node < NodeID.incomingBase }

    /// The entity's block of numbers: its kind bit and seq.
    static func block(_ kind: LakeID.Kind, _ seq: Int64) -> UInt64 {
        (kind == .dataset ? datasetBit : 0) | UInt64(seq)
    }

    func learn(_ summaries: [EntitySummary]) {
        numbers.withLock { numbers in
            for summary in summaries {
                guard let kind = summary.id.kind else { continue }
                numbers.seq[summary.id] = summary.seq
                numbers.id[Self.block(kind, summary.seq)] = summary.id
            }
        }
    }

    /// The inode of a node of an entity's tree (nil when the catalog no longer has it).
    func inode(_ id: LakeID, _ local: UInt32) -> UInt64? {
        guard let kind = id.kind else { return nil }
        var seq = numbers.withLock { $0.seq[id] }
        if seq == nil, let found = try? store.entitySeq(id) {
            seq = found
            numbers.withLock { numbers in
                numbers.seq[id] = found
                numbers.id[Self.block(kind, found)] = id
            }
        }
        guard let seq else { return nil }
        return Self.base | Self.block(kind, seq) << Self.localBits | UInt64(local)
    }

    func split(_ node: UInt64) -> (LakeID, UInt32)? {
        guard Self.owns(node) else { return nil }
        let block = (node - Self.base) >> Self.localBits
        let local = UInt32(node & ((1 << Self.localBits) - 1))
        if let id = numbers.withLock({ $0.id[block] }) { return (id, local) }
        let kind: LakeID.Kind = block & Self.datasetBit != 0 ? .dataset : .case
        let seq = Int64(block & (Self.datasetBit - 1))
        guard let found = (try? store.entity(seq: seq, kind: kind)) ?? nil else { return nil }
        numbers.withLock { numbers in
            numbers.seq[found] = seq
            numbers.id[block] = found
        }
        return (found, local)
    }

    func cached(_ id: LakeID) -> TreeView? {
        views.withLock { kept in
            guard let view = kept.views[id] else { return nil }
            kept.order.add(id)
            return view
        }
    }

    func remember(_ view: TreeView) {
        let trim = views.withLock { kept -> Bool in
            if let old = kept.views.updateValue(view, forKey: view.id) { kept.subtract(old) }
            if kept.departed.removeValue(forKey: view.id) != nil { kept.departures.remove(view.id) }
            kept.add(view)
            kept.order.add(view.id)
            let time = now()
            Self.expireDeparted(&kept, at: time)
            while kept.nodes > max(nodesKept, 2 * kept.largest), kept.views.count > 1, let oldest = kept.order.takeOldest() {
                guard let dropped = kept.views.removeValue(forKey: oldest) else { continue }
                kept.subtract(dropped)
                kept.departed[oldest] = Departed(dropped, at: time)
                kept.departures.add(oldest)
                kept.droppedSinceTrim += dropped.nodes.count
            }
            guard kept.droppedSinceTrim >= Self.nodesDroppedBeforeTrim else { return false }
            kept.droppedSinceTrim = 0
            return true
        }
        // The FUSE threads that built the dropped views each freed into their own malloc arena,
        // which keeps the pages: memory would stay at its high-water mark in every arena.
        if trim { Memory.releaseFreePagesNowAndThen() }
    }

    /// Nodes dropped between two trims of malloc's free pages (a few milliseconds each).
    static let nodesDroppedBeforeTrim = 1 << 16

    /// Departed views older than the kernel's longest timeout are forgotten: it holds nothing
    /// of their trees any more.
    private static func expireDeparted(_ kept: inout Kept, at time: UInt64) {
        let limit = UInt64(LakeFileSystem.longTimeout * 1e9)
        while let oldest = kept.departures.peekOldest(), let departed = kept.departed[oldest], time &- departed.at > limit {
            _ = kept.departures.takeOldest()
            kept.departed.removeValue(forKey: oldest)
        }
    }

    /// Forgets views of changed entities and of entities showing a changed object, kept or
    /// departed; returns each one's id and node count (the trees the kernel must drop).
    func forget(_ ids: Set<LakeID>) -> [(id: LakeID, nodeCount: Int)] {
        if ids.contains(where: { $0.kind == .case }) { caseListing.withLock { $0 = nil } }
        if ids.contains(where: { $0.kind == .dataset }) { datasetListing.withLock { $0 = nil } }
        return views.withLock { kept in
            let dropped = kept.views.values.filter { ids.contains($0.id) || !$0.objectIDs.isDisjoint(with: ids) }
            for view in dropped {
                kept.views[view.id] = nil
                kept.order.remove(view.id)
                kept.subtract(view)
            }
            Self.expireDeparted(&kept, at: now())
            var trees = dropped.map { (id: $0.id, nodeCount: $0.nodes.count) }
            for departed in kept.departed.values where ids.contains(departed.id) || !departed.objectIDs.isDisjoint(with: ids) {
                trees.append((id: departed.id, nodeCount: departed.nodeCount))
                kept.departed.removeValue(forKey: departed.id)
                kept.departures.remove(departed.id)
            }
            return trees
        }
    }

    // MARK: building

    /// A case's folder: `case.json` and one folder per member laid out like `objects/<id>/`.
    /// Returns each member's folder name and file paths (relative to the case folder).
    static func addCase(_ item: LakeCase, members: [ObjectView], to builder: inout TreeBuilder, in folder: UInt32,
                        entity: Int) -> [(member: CaseMember, name: String, format: String, files: [String])] {
        builder.add("case.json", .lazy(LazyBytes.entityJSON(item)), in: folder, entity: entity)
        let names = item.memberFolderNames(fileNames: Dictionary(members.map { ($0.outline.id, $0.outline.fileName) }, uniquingKeysWith: { a, _ in a }))
        var result: [(CaseMember, String, String, [String])] = []
        for (index, view) in members.enumerated() {
            let files = builder.addObject(view, as: names[index], in: folder)
            result.append((item.members[index], names[index], view.outline.format.rawValue, files.map { names[index] + "/" + $0 }))
        }
        return result
    }

    static func caseView(_ item: LakeCase, members: [ObjectView]) -> TreeView {
        var builder = TreeBuilder(rootXattrs: LazyXattrs { Xattrs.of(item) })
        builder.membersShowTheirOwners = true
        _ = addCase(item, members: members, to: &builder, in: 0, entity: 0)
        return TreeView(id: item.id, builder: builder, modified: item.createdAt, isSettled: item.status != .unsettled, owner: item.owner)
    }

    /// A frozen dataset's folder: `dataset.json`, `manifest.jsonl` and `cases/<case-id>/…`.
    static func datasetView(_ dataset: LakeDataset, cases: [(LakeCase, [ObjectView])]) -> TreeView {
        var builder = TreeBuilder(rootXattrs: LazyXattrs { Xattrs.of(dataset) })
        builder.add("dataset.json", .lazy(LazyBytes.entityJSON(dataset)), in: 0, entity: 0)
        let manifest = builder.add("manifest.jsonl", .bytes([]), in: 0, entity: 0)
        let casesFolder = builder.add("cases", .folder([:]), in: 0, entity: 0)
        var lines: [String] = []
        for (item, members) in cases {
            let entity = builder.entity(LazyXattrs { Xattrs.of(item) })
            let folder = builder.add(item.id.rawValue, .folder([:]), in: casesFolder, entity: entity)
            let placed = addCase(item, members: members, to: &builder, in: folder, entity: entity)
            let prefix = "cases/\(item.id.rawValue)/"
            let line = ManifestLine(caseId: item.id, name: item.name, params: item.params, members: placed.map { member in
                ManifestLine.Member(name: member.name, label: member.member.label, objectId: member.member.objectId, format: member.format,
                                    file: member.files.first.map { prefix + $0 }, files: member.files.map { prefix + $0 })
            })
            lines.append(LakeJSON.compactString(line))
        }
        var view = builder
        view.replaceContent(manifest, .bytes(Array(lines.map { $0 + "\n" }.joined().utf8)))
        return TreeView(id: dataset.id, builder: view, modified: dataset.frozenAt ?? dataset.createdAt, isSettled: true, owner: dataset.owner)
    }
}

/// One line of a dataset's `manifest.jsonl`: what a training script needs of one case.
struct ManifestLine: Encodable {
    struct Member: Encodable {
        var name: String
        var label: String?
        var objectId: LakeID
        var format: String
        /// The member's file, relative to the dataset folder (for a VTM: the manifest).
        var file: String?
        /// Every file of the member (a VTM's blocks too).
        var files: [String]
        enum CodingKeys: String, CodingKey {
            case name, label, format, file, files
            case objectId = "object_id"
        }
    }
    var caseId: LakeID
    var name: String
    var params: [String: Param]
    var members: [Member]
    enum CodingKeys: String, CodingKey {
        case name, params, members
        case caseId = "case_id"
    }
}
