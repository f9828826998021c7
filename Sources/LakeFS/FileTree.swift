#if canImport(Glibc)
import Glibc
#endif
import LakeCore
import LakeModel
import LakeSystem

/// One tree of the mount, owning a range of inode numbers: the root's fixed folders, `objects/`,
/// `cases/` and `datasets/` (or one dataset mounted as the root), and `incoming/`. The
/// filesystem picks the tree of an inode once (`LakeFileSystem.tree`) and asks it everything.
protocol FileTree: Sendable {
    func lookup(_ parent: UInt64, _ name: FileName) throws(FSError) -> Entry
    func attributes(_ node: UInt64) throws(FSError) -> Attributes
    func list(_ node: UInt64) throws(FSError) -> [DirectoryEntry]
    /// `caller` is who opens: rewriting a receipt uploads a new object made by them.
    func open(_ node: UInt64, flags: Int32, caller: Caller) throws(FSError) -> OpenPlan
    func xattrs(_ node: UInt64) throws(FSError) -> [String: [UInt8]]
    /// How long the kernel may cache a node's attributes, and that a name is missing below it.
    func attributeTimeout(_ node: UInt64) -> Double
    func negativeTimeout(_ parent: UInt64) -> Double
    /// Whether the kernel may keep a folder's listing, and an open file's pages across opens.
    func listingIsStable(_ node: UInt64) -> Bool
    func contentIsStable(_ node: UInt64) -> Bool
    /// A symbolic link's target.
    func readlink(_ node: UInt64) throws(FSError) -> String
    /// Where a stored file stands in the orders a reader may go through the tree's files
    /// (`ReadAhead`): none for anything else.
    func readingOrders(_ node: UInt64) -> [(order: ReadAhead.Order, position: Int)]
}

extension FileTree {
    /// Only `datasets/by-name/` has links; anything else is not one (EINVAL, as readlink(2) says).
    func readlink(_ node: UInt64) throws(FSError) -> String { throw .invalid }
    func readingOrders(_ node: UInt64) -> [(order: ReadAhead.Order, position: Int)] { [] }
}

extension LakeFileSystem {
    /// The tree an inode belongs to, by its range (NodeID): decided here and nowhere else.
    func tree(_ node: UInt64) -> any FileTree {
        if node == NodeID.root { return datasetRoot == nil ? RootTree(fs: self) as any FileTree : EntityTree(fs: self) }
        if IncomingTree.owns(node) { return readOnly ? NoTree() : incoming }
        if datasetRoot == nil, DatasetNameTree.owns(node) { return DatasetNameTree(fs: self) }
        if node == NodeID.cases || node == NodeID.datasets || EntityTrees.owns(node) { return EntityTree(fs: self) }
        return ObjectTree(fs: self)
    }
}

/// What a read-only mount answers for incoming/'s inodes, which it does not show.
struct NoTree: FileTree {
    func lookup(_ parent: UInt64, _ name: FileName) throws(FSError) -> Entry { throw .notFound }
    func attributes(_ node: UInt64) throws(FSError) -> Attributes { throw .notFound }
    func list(_ node: UInt64) throws(FSError) -> [DirectoryEntry] { throw .notFound }
    func open(_ node: UInt64, flags: Int32, caller: Caller) throws(FSError) -> OpenPlan { throw .notFound }
    func xattrs(_ node: UInt64) throws(FSError) -> [String: [UInt8]] { throw .notFound }
    func attributeTimeout(_ node: UInt64) -> Double { 0 }
    func negativeTimeout(_ parent: UInt64) -> Double { 0 }
    func listingIsStable(_ node: UInt64) -> Bool { false }
    func contentIsStable(_ node: UInt64) -> Bool { false }
}

/// The root: four fixed folders that never change (three in a read-only mount).
struct RootTree: FileTree {
    let fs: LakeFileSystem

    func lookup(_ parent: UInt64, _ name: FileName) throws(FSError) -> Entry {
        guard let node = fs.rootFolders.first(where: { FileName($0.0) == name })?.1 else { throw .notFound }
        return Entry(attributes: try fs.tree(node).attributes(node), timeout: LakeFileSystem.longTimeout)
    }

    func attributes(_ node: UInt64) throws(FSError) -> Attributes { .directory(node, modified: fs.mountedAt) }

    func list(_ node: UInt64) throws(FSError) -> [DirectoryEntry] {
        try fs.rootFolders.map { name, id throws(FSError) in
            DirectoryEntry(name: name, attributes: try fs.tree(id).attributes(id), timeout: LakeFileSystem.longTimeout)
        }
    }

    func open(_ node: UInt64, flags: Int32, caller: Caller) throws(FSError) -> OpenPlan { throw .isDirectory }
    func xattrs(_ node: UInt64) throws(FSError) -> [String: [UInt8]] { [:] }
    func attributeTimeout(_ node: UInt64) -> Double { LakeFileSystem.longTimeout }
    func negativeTimeout(_ parent: UInt64) -> Double { LakeFileSystem.longTimeout }
    func listingIsStable(_ node: UInt64) -> Bool { true }
    func contentIsStable(_ node: UInt64) -> Bool { true }
}

/// `objects/` and every object's folder: inode numbers `seq << 24 | local` (`ObjectView`).
struct ObjectTree: FileTree {
    let fs: LakeFileSystem

    func lookup(_ parent: UInt64, _ name: FileName) throws(FSError) -> Entry {
        // Lake's own names, all UTF-8.
        guard let name = name.string else { throw .notFound }
        if parent == NodeID.objects {
            guard let id = try? LakeID(validating: name, kind: .object) else { throw .notFound }
            let view = try fs.view(id: id)
            return Entry(attributes: view.attributes(NodeID.Local.folder)!, timeout: fs.timeout(view))
        }
        guard let (seq, local) = NodeID.split(parent) else { throw .notFound }
        let view = try fs.view(seq: seq)
        guard case .folder(let entries)? = view.nodes[local]?.content else { throw .notDirectory }
        guard let child = entries[name], let attributes = view.attributes(child) else { throw .notFound }
        return Entry(attributes: attributes, timeout: fs.timeout(view))
    }

    func attributes(_ node: UInt64) throws(FSError) -> Attributes {
        if node == NodeID.objects { return .directory(node, modified: fs.mountedAt) }
        guard let (seq, local) = NodeID.split(node) else { throw .notFound }
        guard let attributes = try fs.view(seq: seq).attributes(local) else { throw .notFound }
        return attributes
    }

    func list(_ node: UInt64) throws(FSError) -> [DirectoryEntry] {
        if node == NodeID.objects {
            return try fs.summaries().map { summary in
                DirectoryEntry(name: summary.id.rawValue,
                               attributes: Attributes.directory(NodeID.object(summary.seq), modified: summary.changedAt)
                                   .owned(by: summary.owner),
                               timeout: summary.status.isTerminal ? LakeFileSystem.longTimeout : LakeFileSystem.shortTimeout)
            }
        }
        guard let (seq, local) = NodeID.split(node) else { throw .notFound }
        let view = try fs.view(seq: seq)
        guard case .folder(let entries)? = view.nodes[local]?.content else { throw .notDirectory }
        return entries.sorted { $0.key < $1.key }.compactMap { name, child in
            view.listed(child).map { DirectoryEntry(name: name, attributes: $0.attributes, timeout: fs.timeout(view), isDescribed: $0.isDescribed) }
        }
    }

    func open(_ node: UInt64, flags: Int32, caller: Caller) throws(FSError) -> OpenPlan {
        guard let (seq, local) = NodeID.split(node) else { throw node == NodeID.objects ? .isDirectory : .notFound }
        if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 { throw .readOnly }
        let view = try fs.view(seq: seq)
        switch view.nodes[local]?.content {
        case .blob(let id, let size)?:
            return fs.plan(fs.openFiles.add(try fs.blobGuard.source(id, size: size, in: fs.openFiles), keeping: view), stable: true)
        case .json?:
            return fs.plan(fs.openFiles.add(.bytes(view.json.bytes), keeping: view), stable: true)
        case .folder?:
            throw .isDirectory
        case nil:
            throw .notFound
        }
    }

    func xattrs(_ node: UInt64) throws(FSError) -> [String: [UInt8]] {
        guard let (seq, local) = NodeID.split(node) else { return [:] }
        let view = try fs.view(seq: seq)
        guard let entity = view.nodes[local]?.entity else { throw .notFound }
        return view.xattrs[entity].value
    }

    /// (A view dropped from the cache is built again: from one narrow read, cheaper than the
    /// kernel asking again every second.)
    func attributeTimeout(_ node: UInt64) -> Double {
        guard let (seq, _) = NodeID.split(node), let view = try? fs.view(seq: seq) else { return LakeFileSystem.shortTimeout }
        return fs.timeout(view)
    }

    /// objects/ gains new names at any time; inside an object, as its attributes.
    func negativeTimeout(_ parent: UInt64) -> Double { parent == NodeID.objects ? 0 : attributeTimeout(parent) }

    func listingIsStable(_ node: UInt64) -> Bool {
        guard let (seq, _) = NodeID.split(node), let view = try? fs.view(seq: seq) else { return false }
        return view.isSettled
    }

    /// An object's files keep their pages: blobs never change, and a changed object.json is
    /// dropped from the kernel's cache when the catalog says so (`ChangeWatcher`).
    func contentIsStable(_ node: UInt64) -> Bool { NodeID.split(node) != nil }

    /// objects/ in its listing's order, by seq (the ids sort so too): the next objects' files of
    /// the same kind (`file`, or a manifest's block at the same place). A seq of an object that
    /// is gone, or not yet made, is found so by the read-ahead's thread, never on an open.
    func readingOrders(_ node: UInt64) -> [(order: ReadAhead.Order, position: Int)] {
        guard let (seq, local) = NodeID.split(node), local != NodeID.Local.folder, local != NodeID.Local.json else { return [] }
        let order = ReadAhead.Order(key: .objects, count: Int(Int32.max)) { [fs] position in
            guard let view = try? fs.view(seq: Int64(position)) else { return nil }
            for candidate in [local, NodeID.Local.file] {
                if case .blob(let id, let size)? = view.nodes[candidate]?.content { return (id, size) }
            }
            return nil
        }
        return seq < Int64(Int32.max) ? [(order, Int(seq))] : []
    }
}

/// `cases/`, `datasets/`, their trees (`TreeView`s; inode numbers from the entity's catalog seq),
/// and one frozen dataset mounted as the root.
struct EntityTree: FileTree {
    let fs: LakeFileSystem

    func lookup(_ parent: UInt64, _ name: FileName) throws(FSError) -> Entry {
        guard let name = name.string else { throw .notFound }
        switch parent {
        case NodeID.cases where fs.datasetRoot == nil:
            guard let id = try? LakeID(validating: name, kind: .case) else { throw .notFound }
            return try fs.treeEntry(id)
        case NodeID.datasets where fs.datasetRoot == nil:
            if name == DatasetNameTree.folderName { return Entry(attributes: try DatasetNameTree(fs: fs).attributes(NodeID.datasetNames), timeout: LakeFileSystem.shortTimeout) }
            guard let id = try? LakeID(validating: name, kind: .dataset) else { throw .notFound }
            return try fs.treeEntry(id)
        default:
            guard let (id, local) = fs.treeNode(parent) else { throw .notFound }
            return try fs.treeLookup(id, local, name)
        }
    }

    func attributes(_ node: UInt64) throws(FSError) -> Attributes {
        guard let (id, local) = fs.treeNode(node) else {
            guard node == NodeID.cases || node == NodeID.datasets else { throw .notFound }
            return .directory(node, modified: fs.mountedAt)
        }
        guard let attributes = try fs.treeView(id).attributes(local, inode: node) else { throw .notFound }
        return attributes
    }

    func list(_ node: UInt64) throws(FSError) -> [DirectoryEntry] {
        if let (id, local) = fs.treeNode(node) { return try fs.treeList(id, local) }
        switch node {
        case NodeID.cases: return try fs.entitySummaries(fs.trees.caseListing) { try fs.store.caseSummaries() }.map(fs.listingEntry)
        case NodeID.datasets:
            let names = fs.datasetRoot == nil
                ? [DirectoryEntry(name: DatasetNameTree.folderName, attributes: try DatasetNameTree(fs: fs).attributes(NodeID.datasetNames),
                                  timeout: LakeFileSystem.shortTimeout)] : []
            return try names + fs.entitySummaries(fs.trees.datasetListing) { try fs.store.frozenDatasetSummaries() }.map(fs.listingEntry)
        default: throw .notFound
        }
    }

    func open(_ node: UInt64, flags: Int32, caller: Caller) throws(FSError) -> OpenPlan {
        guard let (id, local) = fs.treeNode(node) else { throw .isDirectory }
        if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 { throw .readOnly }
        return fs.plan(try fs.treeOpen(id, local), stable: contentIsStable(node))
    }

    func xattrs(_ node: UInt64) throws(FSError) -> [String: [UInt8]] {
        guard let (id, local) = fs.treeNode(node) else { return [:] }
        return try fs.treeXattrs(id, local)
    }

    func attributeTimeout(_ node: UInt64) -> Double {
        guard let (id, _) = fs.treeNode(node) else { return LakeFileSystem.longTimeout }
        return fs.trees.cached(id).map(fs.timeout) ?? LakeFileSystem.shortTimeout
    }

    /// cases/ and datasets/ gain entries as they are made (and frozen).
    func negativeTimeout(_ parent: UInt64) -> Double {
        fs.treeNode(parent) == nil ? LakeFileSystem.shortTimeout : attributeTimeout(parent)
    }

    func listingIsStable(_ node: UInt64) -> Bool {
        guard let (id, _) = fs.treeNode(node) else { return false }
        return fs.trees.cached(id)?.isSettled ?? false
    }

    func contentIsStable(_ node: UInt64) -> Bool { listingIsStable(node) }

    /// A case's or dataset's files as a walk of its sorted listings meets them, and as its
    /// manifest names them.
    func readingOrders(_ node: UInt64) -> [(order: ReadAhead.Order, position: Int)] {
        guard let (id, local) = fs.treeNode(node), let view = fs.trees.cached(id) else { return [] }
        return (view.readingOrders ?? []).enumerated().compactMap { index, reading in
            guard let position = reading.position(local) else { return nil }
            let blobs = reading.blobs
            return (ReadAhead.Order(key: .tree(id, index), count: blobs.count) { blobs[$0] }, position)
        }
    }
}

extension IncomingTree: FileTree {
    func lookup(_ parent: UInt64, _ name: FileName) throws(FSError) -> Entry {
        guard let entry = try lookup(parent: parent, name: name) else { throw .notFound }
        return entry
    }

    func attributes(_ node: UInt64) throws(FSError) -> Attributes {
        if node == NodeID.incoming {
            // A drop box with the rule of /tmp: anyone may create here, and only a receipt's or
            // folder's owner (or root) may write over, rename or remove it (the kernel checks,
            // mounted with default_permissions).
            var attributes = Attributes.directory(node, writable: true, modified: mountedAt)
            attributes.mode = 0o1777
            return attributes
        }
        guard let attributes = receiptAttributes(node) else { throw .notFound }
        return attributes
    }

    func list(_ node: UInt64) throws(FSError) -> [DirectoryEntry] {
        guard let entries = listing(node) else { throw .notDirectory }
        return entries
    }

    func open(_ node: UInt64, flags: Int32, caller: Caller) throws(FSError) -> OpenPlan {
        guard node != NodeID.incoming else { throw .isDirectory }
        guard let plan = try open(node, flags: flags, caller: caller, handles: handles) else { throw .notFound }
        return plan
    }

    func xattrs(_ node: UInt64) throws(FSError) -> [String: [UInt8]] { receiptXattrs(node) ?? [:] }
    func attributeTimeout(_ node: UInt64) -> Double {
        guard node >= NodeID.incomingBase else { return LakeFileSystem.longTimeout }
        return files.entry(Self.row(node)).map(Self.attributeTimeout) ?? 0
    }
    /// Every change to incoming/ goes through this mount, but a file being written appears at
    /// once: no negative entries.
    func negativeTimeout(_ parent: UInt64) -> Double { 0 }
    func listingIsStable(_ node: UInt64) -> Bool { isStable(node) ?? false }
    func contentIsStable(_ node: UInt64) -> Bool { isStable(node) ?? false }
}
