import LakeCore
import LakeModel
import Synchronization

/// `cases/`, `datasets/` and a dataset mounted as the root: answered from `TreeView`s.
extension LakeFileSystem {
    /// The tree node behind an inode (the root, when a dataset is mounted as the root).
    func treeNode(_ node: UInt64) -> (LakeID, UInt32)? {
        if node == NodeID.root, let datasetRoot { return (datasetRoot, 0) }
        return trees.split(node)
    }

    /// The inode of a tree node (local 0 of the root dataset is the mount's root). The entity's
    /// number is known once its view is built (`treeView` refuses one the catalog lacks).
    func treeInode(_ id: LakeID, _ local: UInt32) -> UInt64 {
        if local == 0, id == datasetRoot { return NodeID.root }
        return trees.inode(id, local) ?? 0
    }

    func treeView(_ id: LakeID) throws(FSError) -> TreeView {
        if let cached = trees.cached(id) { return cached }
        do {
            let view: TreeView
            switch id.kind {
            case .case?:
                guard let item = try store.lakeCase(id) else { throw FSError.notFound }
                view = EntityTrees.caseView(item, members: try memberViews(item, try views(ids: item.members.map(\.objectId))))
            case .dataset?:
                // Only frozen datasets are shown: they are what training reads, and they never change.
                guard let dataset = try store.dataset(id), dataset.isFrozen else { throw FSError.notFound }
                let cases = try store.datasetCases(id)
                let all = try views(ids: cases.flatMap { $0.members.map(\.objectId) })
                view = EntityTrees.datasetView(dataset, cases: try cases.map { item in (item, try memberViews(item, all)) })
            default:
                throw FSError.notFound
            }
            guard trees.inode(id, 0) != nil else { throw FSError.notFound }
            trees.remember(view)
            return view
        } catch {
            throw FSError.from(error)
        }
    }

    func memberViews(_ item: LakeCase, _ views: [LakeID: ObjectView]) throws(FSError) -> [ObjectView] {
        try item.members.map { member throws(FSError) in
            guard let view = views[member.objectId] else { throw FSError.notFound }
            return view
        }
    }

    /// Views of many objects at once: cached ones as they are, the rest built from batched reads.
    func views(ids: [LakeID]) throws(FSError) -> [LakeID: ObjectView] {
        var result: [LakeID: ObjectView] = [:]
        var missing: [LakeID] = []
        for id in Set(ids) {
            if let cached = views.get(id: id) { result[id] = cached } else { missing.append(id) }
        }
        guard !missing.isEmpty else { return result }
        do {
            let fetched = try store.objectOutlines(ids: missing)
            let childIDs = Set(fetched.flatMap { $0.outline.contentReferences.compactMap(\.objectId) })
            var children: [LakeID: ObjectOutline] = [:]
            if !childIDs.isEmpty { for (_, child) in try store.objectOutlines(ids: Array(childIDs)) { children[child.id] = child } }
            for (seq, outline) in fetched {
                let view = ObjectView(seq: seq, outline: outline, referenced: children, source: viewSource)
                views.put(seq, view)
                result[outline.id] = view
            }
            return result
        } catch {
            throw FSError.from(error)
        }
    }

    func treeEntry(_ id: LakeID) throws(FSError) -> Entry {
        let view = try treeView(id)
        return Entry(attributes: view.attributes(0, inode: treeInode(id, 0))!, timeout: timeout(view))
    }

    func treeLookup(_ id: LakeID, _ local: UInt32, _ name: String) throws(FSError) -> Entry {
        let view = try treeView(id)
        guard Int(local) < view.nodes.count else { throw .notFound }
        guard case .folder(let entries) = view.nodes[Int(local)].content else { throw .notDirectory }
        guard let child = entries[name], let attributes = view.attributes(child, inode: treeInode(id, child)) else { throw .notFound }
        return Entry(attributes: attributes, timeout: timeout(view))
    }

    func treeList(_ id: LakeID, _ local: UInt32) throws(FSError) -> [DirectoryEntry] {
        let view = try treeView(id)
        guard Int(local) < view.nodes.count else { throw .notFound }
        guard case .folder(let entries) = view.nodes[Int(local)].content else { throw .notDirectory }
        return entries.sorted { $0.key < $1.key }.compactMap { name, child in
            view.listed(child, inode: treeInode(id, child)).map {
                DirectoryEntry(name: name, attributes: $0.attributes, timeout: timeout(view), isDescribed: $0.isDescribed)
            }
        }
    }

    func treeOpen(_ id: LakeID, _ local: UInt32) throws(FSError) -> UInt64 {
        let view = try treeView(id)
        guard Int(local) < view.nodes.count else { throw .notFound }
        switch view.nodes[Int(local)].content {
        case .blob(let blob, let size):
            return openFiles.add(try blobGuard.source(blob, size: size, in: openFiles))
        case .bytes(let bytes):
            return openFiles.add(.bytes(bytes))
        case .lazy(let bytes):
            return openFiles.add(.bytes(bytes.bytes))
        case .folder:
            throw .isDirectory
        }
    }

    func treeXattrs(_ id: LakeID, _ local: UInt32) throws(FSError) -> [String: [UInt8]] {
        let view = try treeView(id)
        guard Int(local) < view.nodes.count else { throw .notFound }
        return view.xattrs[view.nodes[Int(local)].entity].value
    }

    /// A cached listing of cases or frozen datasets, refreshed when the catalog says so.
    func entitySummaries(_ cache: borrowing Mutex<[EntitySummary]?>, _ load: () throws -> [EntitySummary]) throws(FSError) -> [EntitySummary] {
        if let cached = cache.withLock({ $0 }) { return cached }
        do {
            let fresh = try load()
            cache.withLock { $0 = fresh }
            return fresh
        } catch {
            throw FSError.from(error)
        }
    }

    func listingEntry(_ summary: EntitySummary) -> DirectoryEntry {
        trees.learn([summary])
        return DirectoryEntry(name: summary.id.rawValue,
                              attributes: Attributes.directory(treeInode(summary.id, 0), modified: summary.createdAt).owned(by: summary.owner),
                       timeout: summary.isSettled ? Self.longTimeout : Self.shortTimeout)
    }
}
