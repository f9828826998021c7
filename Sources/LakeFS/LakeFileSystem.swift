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
    /// Object views: 65,536 of them, under a KiB each.
    let views = ViewCache(capacity: LakeFileSystem.viewsKept)
    static let viewsKept = 65_536
    /// The `object.json`s and xattrs views made, wherever held: 64 MiB of them.
    let madeValues: MadeValues
    public static let madeBudget = 64 << 20
    /// How views make their `object.json` and xattrs.
    let viewSource: ObjectView.Source
    /// Views of objects that left the lake (trashed or purged) while cached: a process that has
    /// one of their files open still gets its attributes (`fstat`), as on a disk a file removed
    /// while open keeps its inode; names no longer lead to them.
    let departed = ViewCache(capacity: 1024)
    let listing = Mutex<[ObjectSummary]?>(nil)
    let openFiles: OpenFiles
    /// Brings the next files' blobs into memory while a reader goes through a tree in order.
    let readAhead: ReadAhead
    /// Handles of a dataset mount's files, which are read without being opened.
    let nodeHandles = NodeHandles()
    /// Inodes whose cached pages may hold a damaged copy's bytes (the FUSE adapter drops them).
    public let damagedPages = DamagedPages()
    let incoming: IncomingTree
    let trees: EntityTrees
    /// Set when one frozen dataset is mounted as the root (`lake mount --dataset`).
    public let datasetRoot: LakeID?
    /// A mount made read-only (`-o ro`): nothing can be written, so it has no `incoming/`, and
    /// like a dataset mount it needs no opens (see `opensNeeded`).
    public let readOnly: Bool
    let mountedAt = Timestamp.now

    /// Seconds the kernel may cache what never changes (settled objects, fixed folders), and
    /// what may (the objects/ listing, objects still being processed).
    public static let longTimeout = 3600.0
    public static let shortTimeout = 1.0
    /// A mounted frozen dataset never changes: the kernel keeps everything until unmounted.
    public static let indefiniteTimeout = 365 * 86400.0

    /// `settler`: the daemon's `BlobSettler`, which lets small uploads sync once per batch.
    public init(store: Store, logger: Logger, datasetRoot: LakeID? = nil, readOnly: Bool = false, settler: BlobSettler? = nil,
                treeNodesKept: Int = 1 << 19, madeBudget: Int = LakeFileSystem.madeBudget) {
        self.store = store
        self.logger = logger
        self.datasetRoot = datasetRoot
        self.readOnly = readOnly || datasetRoot != nil
        rootFolders = self.readOnly ? Self.rootNames.filter { $0.1 != NodeID.incoming } : Self.rootNames
        trees = EntityTrees(store: store, nodesKept: treeNodesKept)
        madeValues = MadeValues(budget: madeBudget)
        viewSource = Self.viewSource(store, made: madeValues)
        let files = OpenFiles()
        openFiles = files
        let guarded = BlobGuard(store: store, logger: logger, keptFiles: files)
        blobGuard = guarded
        let verified = VerifiedBlobs()
        verifiedBlobs = verified
        // The blob opened into the descriptors kept for opens (its folder entry and inode read;
        // a bucket store fetches it into its cache), and its first bytes asked of the disk. Where
        // the daemon serves reads, a small blob is read whole and checked here instead (while
        // its budget has room), so the reader's READ is answered from memory (damage found is
        // recorded as a read's would be).
        let servesReads = self.readOnly
        readAhead = ReadAhead { [store] id, size in
            guard let file = try? files.blob(id, open: { try store.openBlob(id) }) else { return }
            guard servesReads, size > 0, size <= VerifiedBlobs.largestBlob, !guarded.isDamaged(id), verified.admits(Int(size)) else {
                Syscall.adviseWillNeed(file.descriptor, offset: 0, count: min(size, ReadAhead.bytesPerFile))
                return
            }
            guard let bytes = try? file.bytes(at: 0, count: Int(size)), bytes.count == Int(size) else { return }
            switch SequentialHash(blob: id, size: size).feed(bytes, at: 0) {
            case .intact: verified.put(id, bytes)
            case .corrupt(let actual): guarded.recordCorrupt(id, hashingTo: actual, foundBy: "read-ahead")
            case .unknown: break
            }
        }
        incoming = IncomingTree(files: IncomingFiles(store: store, logger: logger, settler: settler), store: store, blobGuard: blobGuard,
                                handles: openFiles, mountedAt: mountedAt)
    }

    /// Every open of a stored blob asks it first.
    let blobGuard: BlobGuard
    /// Small blobs read ahead and checked, for the READ that asks for one whole.
    let verifiedBlobs: VerifiedBlobs

    /// What `df` shows for the mount: the store's own filesystem (where uploads land).
    public func fileSystemStatus() throws(FSError) -> Glibc.statvfs {
        do { return try Syscall.fileSystemStatus(store.root) } catch { throw FSError.from(error) }
    }

    static let rootNames: [(String, UInt64)] = [("incoming", NodeID.incoming), ("objects", NodeID.objects),
                                                 ("cases", NodeID.cases), ("datasets", NodeID.datasets)]

    /// The root's folders: a read-only mount has no `incoming/` (nothing can be copied in).
    let rootFolders: [(String, UInt64)]

    /// Whether files and folders must be opened before they are read. Only `incoming/` needs
    /// opens (a rewrite with O_TRUNC, a close that commits, a reader keeping the version it
    /// opened), and the kernel's choice is per mount: a mount that answers OPEN with ENOSYS
    /// gets no OPEN, FLUSH or RELEASE again, keeps every file's pages between opens and reads
    /// them without asking, but loses kernel passthrough. So a read-only mount (and a dataset
    /// mount) needs none, and a read-write one opens everything.
    public var opensNeeded: Bool { !readOnly }

    // MARK: lookup and attributes

    public func lookup(parent: UInt64, name: FileName) throws(FSError) -> Entry {
        try tree(parent).lookup(parent, name)
    }

    public func attributes(_ node: UInt64) throws(FSError) -> Attributes {
        try tree(node).attributes(node)
    }

    /// How long the kernel may cache a node's attributes.
    public func attributeTimeout(_ node: UInt64) -> Double {
        tree(node).attributeTimeout(node)
    }

    func timeout(_ view: ObjectView) -> Double {
        view.isSettled ? (datasetRoot != nil ? Self.indefiniteTimeout : Self.longTimeout) : Self.shortTimeout
    }

    func timeout(_ view: TreeView) -> Double {
        view.isSettled ? (datasetRoot != nil ? Self.indefiniteTimeout : Self.longTimeout) : Self.shortTimeout
    }

    // MARK: listings

    /// A symbolic link's target (`datasets/by-name/`); EINVAL for anything else.
    public func readlink(_ node: UInt64) throws(FSError) -> String {
        try tree(node).readlink(node)
    }

    public func list(_ node: UInt64) throws(FSError) -> [DirectoryEntry] {
        try tree(node).list(node)
    }

    /// Blobs read ahead of readers going through a tree in order (the daemon logs it at unmount).
    public var blobsReadAhead: Int { readAhead.fetchedCount }
    /// Small files served whole from bytes read ahead and checked (`VerifiedBlobs`).
    public var readsServedAsReadAhead: Int { verifiedBlobs.givenCount }
    /// Blobs read ahead and checked whose bytes were not kept (their budget was full).
    public var blobsCheckedButNotKept: Int { verifiedBlobs.refusedCount }

    /// Lets go of the blob files kept open between reads whose files have been removed since
    /// (`lake gc`, a node cache making room), so that their space is freed: the descriptors kept
    /// between opens, the handles of inodes read without an open (their next read opens the
    /// blob again), and what the blob store itself keeps (an account's dataset mount: the files
    /// the store's daemon handed over). Returns how many went.
    public func releaseRemovedBlobs() -> Int {
        let handles = nodeHandles.drop { openFiles.readsRemovedFile($0) }
        for handle in handles { openFiles.remove(handle) }
        return handles.count + openFiles.releaseRemoved() + store.releaseRemovedBlobFiles()
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
            guard let outline = try store.objectOutline(seq: seq) else {
                // Gone from the catalog: what a file still open, or a recent removal, saw of it.
                if let gone = openFiles.openView(seq) ?? departed.get(seq) { return gone }
                throw FSError.notFound
            }
            let childIDs = outline.contentReferences.compactMap(\.objectId)
            let referenced = childIDs.isEmpty ? [:] : Dictionary(try store.objectOutlines(ids: childIDs).map { ($0.outline.id, $0.outline) },
                                                                 uniquingKeysWith: { first, _ in first })
            let view = ObjectView(seq: seq, outline: outline, referenced: referenced, source: viewSource)
            views.put(seq, view)
            return view
        } catch {
            throw FSError.from(error)
        }
    }

    /// Views load the whole object for their xattrs (nil when gone or not readable), and make
    /// their `object.json` from the object with its provisions as stored (nil when gone, not
    /// readable, or its provisions cannot be laid out), so sizing it — which `find -size`, `ls
    /// -l`, `du` and `rsync` do for every object — decodes no histogram.
    static func viewSource(_ store: Store, made: MadeValues) -> ObjectView.Source {
        ObjectView.Source(made: made, load: { id in (try? store.object(id)) ?? nil },
                          document: { id in ((try? store.storedObject(id)) ?? nil)?.prettyJSON })
    }

    /// Forgets what the catalog changed; returns the nodes whose kernel caches must go.
    public func invalidate(_ ids: Set<LakeID>) -> [Invalidation] {
        listing.withLock { $0 = nil }
        blobGuard.refresh()
        var result: [Invalidation] = [.node(NodeID.objects), .node(NodeID.cases), .node(NodeID.datasets), .node(NodeID.datasetNames)]
        result += incoming.forget(ids)
        for tree in trees.forget(ids) {
            result.append(.entry(parent: tree.id.kind == .case ? NodeID.cases : NodeID.datasets, name: FileName(tree.id.rawValue)))
            result += (0..<tree.nodeCount).compactMap { local in trees.inode(tree.id, UInt32(local)).map { .node($0) } }
        }
        if datasetRoot == nil, ids.contains(where: { $0.kind == .dataset }) {
            // (`trees.forget` above has dropped the cached listing the names come from.)
            result += DatasetNameTree(fs: self).invalidations()
        }
        for id in ids where id.kind == .case || id.kind == .dataset {
            result.append(.entry(parent: id.kind == .case ? NodeID.cases : NodeID.datasets, name: FileName(id.rawValue)))
        }
        for id in ids where id.kind == .object {
            result.append(.entry(parent: NodeID.objects, name: FileName(id.rawValue)))
            // Only a cached view has nodes the kernel may hold; a new object (every file stored
            // through incoming/) has none, and asking the catalog for its seq cost a read per
            // stored file. By the view's own seq: a trashed object has none in the catalog's eyes.
            if let seq = views.get(id: id)?.seq, let old = views.remove(seq) {
                if ((try? store.seq(of: id)) ?? nil) == nil { departed.put(seq, old) }
                result += old.nodes.locals.map { .node(NodeID.object(seq, local: $0)) }
            }
        }
        // A manifest shows its children's files: drop views that reference a changed object.
        for view in views.removeReferencing(ids) {
            result += view.nodes.locals.map { .node(NodeID.object(view.seq, local: $0)) }
        }
        // A mount read without opens keeps a handle per inode read: one whose node changed
        // would serve the old bytes to the kernel's next read.
        if !opensNeeded {
            for case .node(let node) in result {
                if let handle = nodeHandles.forget(node) { openFiles.remove(handle) }
            }
        }
        // Names first: a reader who sees a folder's new listing finds the names it lost gone.
        return result.filter { if case .entry = $0 { true } else { false } } + result.filter { if case .node = $0 { true } else { false } }
    }

    public enum Invalidation: Sendable, Equatable {
        case node(UInt64)
        case entry(parent: UInt64, name: FileName)
    }
}

extension LakeFileSystem {
    /// How long the kernel may remember that a name does not exist in a folder.
    public func negativeTimeout(parent: UInt64) -> Double {
        tree(parent).negativeTimeout(parent)
    }

    /// Whether the kernel may keep a folder's listing (settled object folders never change).
    public func listingIsStable(_ node: UInt64) -> Bool {
        tree(node).listingIsStable(node)
    }
}
