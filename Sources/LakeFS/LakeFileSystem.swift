import Foundation
import LakeCore
import LakeModel
import LakeSystem
import Logging
import Synchronization

/// The mounted lake without FUSE: answers lookups, attributes, listings, reads and xattrs from
/// the catalog and the blob store, caching what does not change. `objects/`, `cases/` and
/// `datasets/` are read-only; `incoming/` accepts uploads (see `IncomingTree` and the core's
/// `IncomingFiles`).
public final class LakeFileSystem: Sendable {
    public let store: Store
    let logger: Logger
    let views = ViewCache(capacity: 8192)
    let listing = Mutex<[ObjectSummary]?>(nil)
    let openFiles = OpenFiles()
    let incoming: IncomingTree
    let trees: EntityTrees
    /// Set when one frozen dataset is mounted as the root (`lake mount --dataset`).
    public let datasetRoot: LakeID?
    let mountedAt = Timestamp.now

    /// Seconds the kernel may cache what never changes (settled objects, fixed folders), and
    /// what may (the objects/ listing, objects still being processed).
    public static let longTimeout = 3600.0
    public static let shortTimeout = 1.0
    /// A mounted frozen dataset never changes: the kernel keeps everything until unmounted.
    public static let indefiniteTimeout = 365 * 86400.0

    /// `settler`: the daemon's `BlobSettler`, which lets small uploads sync once per batch.
    public init(store: Store, logger: Logger, datasetRoot: LakeID? = nil, settler: BlobSettler? = nil) {
        self.store = store
        self.logger = logger
        self.datasetRoot = datasetRoot
        trees = EntityTrees(store: store)
        blobGuard = BlobGuard(store: store, logger: logger)
        incoming = IncomingTree(files: IncomingFiles(store: store, logger: logger, settler: settler), store: store, blobGuard: blobGuard)
    }

    /// Every open of a stored blob asks it first.
    let blobGuard: BlobGuard

    /// What `df` shows for the mount: the store's own filesystem (where uploads land).
    public func fileSystemStatus() throws(FSError) -> Glibc.statvfs {
        do { return try Syscall.fileSystemStatus(store.root) } catch { throw FSError.from(error) }
    }

    static let rootNames: [(String, UInt64)] = [("incoming", NodeID.incoming), ("objects", NodeID.objects),
                                                 ("cases", NodeID.cases), ("datasets", NodeID.datasets)]

    // MARK: lookup and attributes

    public func lookup(parent: UInt64, name bytes: FileName) throws(FSError) -> Entry {
        if let entry = try incoming.lookup(parent: parent, name: bytes) { return entry }
        // Every other tree's names are Lake's own, all UTF-8.
        guard let name = bytes.string else { throw .notFound }
        if let (id, local) = treeNode(parent) { return try treeLookup(id, local, name) }
        switch parent {
        case NodeID.root:
            guard let node = Self.rootNames.first(where: { $0.0 == name })?.1 else { throw .notFound }
            return Entry(attributes: try attributes(node), timeout: Self.longTimeout)
        case NodeID.objects:
            guard let id = try? LakeID(validating: name, kind: .object) else { throw .notFound }
            let view = try view(id: id)
            return Entry(attributes: view.attributes(NodeID.Local.folder)!, timeout: timeout(view))
        case NodeID.cases:
            guard let id = try? LakeID(validating: name, kind: .case) else { throw .notFound }
            return try treeEntry(id)
        case NodeID.datasets:
            guard let id = try? LakeID(validating: name, kind: .dataset) else { throw .notFound }
            return try treeEntry(id)
        default:
            guard let (seq, local) = NodeID.split(parent) else { throw .notFound }
            let view = try view(seq: seq)
            guard case .folder(let entries)? = view.nodes[local]?.content else { throw .notDirectory }
            guard let child = entries[name], let attributes = view.attributes(child) else { throw .notFound }
            return Entry(attributes: attributes, timeout: timeout(view))
        }
    }

    public func attributes(_ node: UInt64) throws(FSError) -> Attributes {
        if let (id, local) = treeNode(node) {
            guard let attributes = try treeView(id).attributes(local, inode: node) else { throw .notFound }
            return attributes
        }
        switch node {
        case NodeID.root, NodeID.cases, NodeID.datasets: return .directory(node, modified: mountedAt)
        case NodeID.objects: return .directory(node, modified: mountedAt)
        case NodeID.incoming: return .directory(node, writable: true, modified: mountedAt)
        default:
            if let attributes = incoming.attributes(node) { return attributes }
            guard let (seq, local) = NodeID.split(node) else { throw .notFound }
            guard let attributes = try view(seq: seq).attributes(local) else { throw .notFound }
            return attributes
        }
    }

    /// How long the kernel may cache a node's attributes.
    public func attributeTimeout(_ node: UInt64) -> Double {
        if let (id, _) = treeNode(node) { return trees.cached(id).map(timeout) ?? Self.shortTimeout }
        if let stable = incoming.isStable(node) { return stable ? Self.longTimeout : 0 }
        guard let (seq, _) = NodeID.split(node), let view = views.get(seq) else {
            return node <= NodeID.datasets && node != NodeID.objects ? Self.longTimeout : Self.shortTimeout
        }
        return timeout(view)
    }

    func timeout(_ view: ObjectView) -> Double {
        view.isSettled ? (datasetRoot != nil ? Self.indefiniteTimeout : Self.longTimeout) : Self.shortTimeout
    }

    func timeout(_ view: TreeView) -> Double {
        view.isSettled ? (datasetRoot != nil ? Self.indefiniteTimeout : Self.longTimeout) : Self.shortTimeout
    }

    // MARK: listings

    public func list(_ node: UInt64) throws(FSError) -> [DirectoryEntry] {
        if let (id, local) = treeNode(node) { return try treeList(id, local) }
        switch node {
        case NodeID.root:
            return try Self.rootNames.map { name, id throws(FSError) in
                DirectoryEntry(name: name, attributes: try attributes(id), timeout: Self.longTimeout)
            }
        case NodeID.objects:
            return try summaries().map { summary in
                DirectoryEntry(name: summary.id.rawValue,
                               attributes: .directory(NodeID.object(summary.seq), modified: summary.changedAt),
                               timeout: summary.status.isTerminal ? Self.longTimeout : Self.shortTimeout)
            }
        case NodeID.cases:
            return try entitySummaries(trees.caseListing) { try store.caseSummaries() }.map(listingEntry)
        case NodeID.datasets:
            return try entitySummaries(trees.datasetListing) { try store.frozenDatasetSummaries() }.map(listingEntry)
        case NodeID.incoming:
            return incoming.list(node) ?? []
        default:
            if let entries = incoming.list(node) { return entries }
            guard let (seq, local) = NodeID.split(node) else { throw .notFound }
            let view = try view(seq: seq)
            guard case .folder(let entries)? = view.nodes[local]?.content else { throw .notDirectory }
            return entries.sorted { $0.key < $1.key }.compactMap { name, child in
                view.attributes(child).map { DirectoryEntry(name: name, attributes: $0, timeout: timeout(view)) }
            }
        }
    }

    /// All objects in one catalog query, cached until the catalog changes.
    func summaries() throws(FSError) -> [ObjectSummary] {
        if let cached = listing.withLock({ $0 }) { return cached }
        do {
            let fresh = try store.objectSummaries()
            listing.withLock { $0 = fresh }
            return fresh
        } catch {
            throw FSError.from(error)
        }
    }

    // MARK: views

    func view(id: LakeID) throws(FSError) -> ObjectView {
        if let cached = views.get(id: id) { return cached }
        do {
            guard let seq = try store.seq(of: id) else { throw FSError.notFound }
            return try view(seq: seq)
        } catch {
            throw FSError.from(error)
        }
    }

    func view(seq: Int64) throws(FSError) -> ObjectView {
        if let cached = views.get(seq) { return cached }
        do {
            guard let object = try store.object(seq: seq) else { throw FSError.notFound }
            var referenced: [LakeID: LakeObject] = [:]
            for reference in object.contentReferences {
                if let id = reference.objectId, let child = try store.object(id) { referenced[id] = child }
            }
            let view = ObjectView(seq: seq, object: object, referenced: referenced)
            views.put(seq, view)
            return view
        } catch {
            throw FSError.from(error)
        }
    }

    /// Forgets what the catalog changed; returns the nodes whose kernel caches must go.
    public func invalidate(_ ids: Set<LakeID>) -> [Invalidation] {
        listing.withLock { $0 = nil }
        blobGuard.refresh()
        incoming.forget(ids)
        var result: [Invalidation] = [.node(NodeID.objects), .node(NodeID.cases), .node(NodeID.datasets)]
        for view in trees.forget(ids) {
            result.append(.entry(parent: view.id.kind == .case ? NodeID.cases : NodeID.datasets, name: view.id.rawValue))
            result += view.nodes.indices.compactMap { local in trees.inode(view.id, UInt32(local)).map { .node($0) } }
        }
        for id in ids where id.kind == .case || id.kind == .dataset {
            result.append(.entry(parent: id.kind == .case ? NodeID.cases : NodeID.datasets, name: id.rawValue))
        }
        for id in ids where id.kind == .object {
            result.append(.entry(parent: NodeID.objects, name: id.rawValue))
            if let seq = try? store.seq(of: id) {
                if let old = views.remove(seq) {
                    result += old.nodes.keys.map { .node(NodeID.object(seq, local: $0)) }
                }
            }
        }
        // A manifest shows its children's files: drop views that reference a changed object.
        for (seq, view) in views.all() where view.object.contentReferences.contains(where: { $0.objectId.map(ids.contains) == true }) {
            views.remove(seq)
            result += view.nodes.keys.map { .node(NodeID.object(seq, local: $0)) }
        }
        return result
    }

    public enum Invalidation: Sendable, Equatable {
        case node(UInt64)
        case entry(parent: UInt64, name: String)
    }
}

extension LakeFileSystem {
    /// How long the kernel may remember that a name does not exist in a folder.
    public func negativeTimeout(parent: UInt64) -> Double {
        if treeNode(parent) != nil { return attributeTimeout(parent) }
        if parent == NodeID.root { return Self.longTimeout }
        if IncomingTree.owns(parent) || parent == NodeID.objects { return 0 }
        if parent == NodeID.cases || parent == NodeID.datasets { return Self.shortTimeout }
        return attributeTimeout(parent)
    }

    /// Whether the kernel may keep a folder's listing (settled object folders never change).
    public func listingIsStable(_ node: UInt64) -> Bool {
        if let (id, _) = treeNode(node) { return trees.cached(id)?.isSettled ?? false }
        if let stable = incoming.isStable(node) { return stable }
        guard let (seq, _) = NodeID.split(node), let view = views.get(seq) else { return false }
        return view.isSettled
    }

    /// Whether an open file's pages may stay cached across opens.
    func contentIsStable(_ node: UInt64) -> Bool {
        if let (id, _) = treeNode(node) { return trees.cached(id)?.isSettled ?? false }
        return incoming.isStable(node) ?? (NodeID.split(node) != nil)
    }
}
