import Dispatch
import LakeModel
import Synchronization

/// Everything the mount shows of one case or frozen dataset, built once and then answered from
/// memory: folders, `.json`/`.jsonl` files held as bytes, member files pointing at blobs, and the
/// xattrs of each node's entity. Local index 0 is the entity's own folder.
final class TreeView: Sendable {
    enum Content: Sendable {
        case folder([String: UInt32])
        case blob(id: String, size: Int64)
        case bytes([UInt8])
        case lazy(LazyBytes)
    }

    struct Node: Sendable {
        var content: Content
        /// Index into `xattrs`: whose attributes the node carries.
        var entity: Int
        /// A case's member's nodes show the member object's owner and mode (nil: the view's).
        var owner: Ownership? = nil
    }

    let id: LakeID
    let nodes: [Node]
    let xattrs: [LazyXattrs]
    let modified: Timestamp
    /// Settled cases and frozen datasets never change, so the kernel may cache them for long.
    let isSettled: Bool
    /// Objects shown inside (a change to one rebuilds the view).
    let objectIDs: Set<LakeID>
    /// The case's or dataset's owner and mode. Every node of a dataset shows it: the dataset is
    /// the grant (its objects' own modes play no part there). In a case, the members' folders and
    /// files show their objects' own: reading one takes both the case's leave (to enter its
    /// folder) and the object's.
    let owner: Ownership

    /// The tree's files in an order a reader may go through them (`ReadAhead`), and each blob
    /// node's place in it.
    struct ReadingOrder: Sendable {
        var blobs: [(id: String, size: Int64)] = []
        /// By local node number: its place in `blobs`, -1 for a node that is not a blob.
        private var places: [Int32]

        /// A blob met again at once (a member's file under `file` and its own name) keeps its
        /// place: the reader of either name goes on to the next member.
        init(_ locals: [UInt32], of nodes: [Node]) {
            places = [Int32](repeating: -1, count: nodes.count)
            for local in locals {
                guard case .blob(let id, let size) = nodes[Int(local)].content else { continue }
                if blobs.last?.id != id { blobs.append((id, size)) }
                places[Int(local)] = Int32(blobs.count - 1)
            }
        }

        func position(_ local: UInt32) -> Int? {
            Int(local) < places.count && places[Int(local)] >= 0 ? Int(places[Int(local)]) : nil
        }
    }

    /// The orders a reader is likely to follow: a walk of the sorted listings (`find`, a sorted
    /// glob, `cp -r`), and the order `manifest.jsonl` names them in (cases as the dataset
    /// orders them, members as the case does) when that differs. Made when a file of the tree
    /// is first opened: in line for a tree of fewer than `ordersMadeInLineBelow` nodes, else on
    /// a thread of its own (a dataset of 50,000 members took 2.7 s in a debug build, sorting its
    /// listings), so the first open does not wait and the read-ahead starts once they are made.
    private let madeOrders = Mutex<(orders: [ReadingOrder]?, started: Bool)>((nil, false))
    static let ordersMadeInLineBelow = 4_096

    /// nil while they are being made.
    var readingOrders: [ReadingOrder]? {
        // Every open in the tree asks: once made, one lock and no more.
        let (made, start) = madeOrders.withLock { made -> ([ReadingOrder]?, Bool) in
            if made.orders != nil || made.started { return (made.orders, false) }
            made.started = true
            return (nil, true)
        }
        guard start else { return made }
        guard nodes.count < Self.ordersMadeInLineBelow else {
            DispatchQueue.global(qos: .utility).async { [self] in
                let orders = makeReadingOrders()
                madeOrders.withLock { $0.orders = orders }
            }
            return nil
        }
        let orders = makeReadingOrders()
        madeOrders.withLock { $0.orders = orders }
        return orders
    }

    private func makeReadingOrders() -> [ReadingOrder] {
        var listed: [UInt32] = []
        var stack: [UInt32] = [0]
        while let local = stack.popLast() {
            if case .folder(let entries) = nodes[Int(local)].content {
                stack += entries.sorted { $0.key > $1.key }.map(\.value)
            } else {
                listed.append(local)
            }
        }
        // The builder adds nodes in the manifest's order, so their numbers follow it.
        let byListing = ReadingOrder(listed, of: nodes), byManifest = ReadingOrder(listed.sorted(), of: nodes)
        return byListing.blobs.map(\.id) == byManifest.blobs.map(\.id) ? [byListing] : [byListing, byManifest]
    }

    init(id: LakeID, builder: TreeBuilder, modified: Timestamp, isSettled: Bool, owner: Ownership) {
        self.id = id
        self.owner = owner
        nodes = builder.nodes.enumerated().map { local, node in
            if case .folder = node.content {
                return Node(content: .folder(builder.entries[UInt32(local)] ?? [:]), entity: node.entity, owner: node.owner)
            }
            return Node(content: node.content, entity: node.entity, owner: node.owner)
        }
        xattrs = builder.xattrs
        objectIDs = builder.objectIDs
        self.modified = modified
        self.isSettled = isSettled
    }

    func attributes(_ local: UInt32, inode: UInt64) -> Attributes? {
        guard Int(local) < nodes.count else { return nil }
        let plain: Attributes
        switch nodes[Int(local)].content {
        case .folder: plain = .directory(inode, modified: modified)
        case .blob(_, let size): plain = .file(inode, size: size, modified: modified)
        case .bytes(let bytes): plain = .file(inode, size: Int64(bytes.count), modified: modified)
        case .lazy(let bytes): plain = .file(inode, size: Int64(bytes.bytes.count), modified: modified)
        }
        return plain.owned(by: nodes[Int(local)].owner ?? owner)
    }

    /// A node's attributes for a listing, and whether they are complete: a member's
    /// `object.json` not yet made is listed by name and kind only (see `ObjectView.listed`).
    func listed(_ local: UInt32, inode: UInt64) -> (attributes: Attributes, isDescribed: Bool)? {
        guard Int(local) < nodes.count else { return nil }
        if case .lazy(let bytes) = nodes[Int(local)].content, bytes.madeValue == nil {
            return (Attributes.file(inode, size: 0, modified: modified).owned(by: nodes[Int(local)].owner ?? owner), false)
        }
        return attributes(local, inode: inode).map { ($0, true) }
    }
}

/// Assembles a `TreeView`'s nodes.
struct TreeBuilder {
    struct Pending {
        var content: TreeView.Content
        var entity: Int
        var owner: Ownership?
    }

    /// Whether members added from now on show their objects' owners (a case) or the view's (a
    /// dataset, the grant).
    var membersShowTheirOwners = false

    private(set) var nodes: [Pending] = [Pending(content: .folder([:]), entity: 0, owner: nil)]
    /// Folder entries, kept apart from `nodes` so adding one never copies a whole folder.
    private(set) var entries: [UInt32: [String: UInt32]] = [:]
    private(set) var xattrs: [LazyXattrs]
    private(set) var objectIDs: Set<LakeID> = []

    init(rootXattrs: LazyXattrs) { xattrs = [rootXattrs] }

    mutating func entity(_ values: LazyXattrs) -> Int {
        xattrs.append(values)
        return xattrs.count - 1
    }

    @discardableResult
    mutating func add(_ name: String, _ content: TreeView.Content, in folder: UInt32, entity: Int, owner: Ownership? = nil) -> UInt32 {
        let local = UInt32(nodes.count)
        nodes.append(Pending(content: content, entity: entity, owner: owner))
        entries[folder, default: [:]][name] = local
        return local
    }

    mutating func replaceContent(_ local: UInt32, _ content: TreeView.Content) {
        nodes[Int(local)].content = content
    }

    /// An object's folder (as `objects/<id>/` shows it) under `name`; returns the paths of its
    /// files relative to that folder, the primary file first.
    mutating func addObject(_ view: ObjectView, as name: String, in folder: UInt32) -> [String] {
        objectIDs.insert(view.outline.id)
        for reference in view.outline.contentReferences { if let child = reference.objectId { objectIDs.insert(child) } }
        let firstEntity = xattrs.count
        for values in view.xattrs { xattrs.append(values) }
        var paths: [String] = []
        let owner = membersShowTheirOwners ? view.outline.owner : nil
        func copy(_ local: UInt64, named: String, into parent: UInt32, path: String) {
            guard let node = view.nodes[local] else { return }
            let entity = firstEntity + node.entity
            switch node.content {
            case .folder(let entries):
                let copied = add(named, .folder([:]), in: parent, entity: entity, owner: owner)
                for (child, childLocal) in entries.sorted(by: { $0.key < $1.key }) {
                    copy(childLocal, named: child, into: copied, path: path.isEmpty ? child : path + "/" + child)
                }
            case .blob(let id, let size):
                add(named, .blob(id: id, size: size), in: parent, entity: entity, owner: owner)
                if local >= NodeID.Local.firstReference || local == NodeID.Local.namedFile { paths.append(path) }
            case .json:
                add(named, .lazy(view.json), in: parent, entity: entity, owner: owner)
            }
        }
        copy(NodeID.Local.folder, named: name, into: folder, path: "")
        // The file under its uploaded name first, then a manifest's blocks.
        if view.nodes[NodeID.Local.namedFile] == nil, view.nodes[NodeID.Local.file] != nil { paths.insert("file", at: 0) }
        return paths.sorted { a, b in (a == view.outline.fileName || a == "file") && !(b == view.outline.fileName || b == "file") }
    }
}
