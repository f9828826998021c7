#if canImport(Glibc)
import Glibc
#endif
import LakeCore
import LakeModel
import LakeSystem
import Synchronization

/// `incoming/` in the filesystem: inode numbers (2^62 + the receipt's catalog node; `incoming/`
/// itself is node 0), attributes, cache timeouts, opens and xattrs over the core's
/// `IncomingFiles`, which decides what is stored and when.
final class IncomingTree: Sendable {
    let files: IncomingFiles
    let store: Store
    /// Refuses a blob found missing or damaged.
    let blobGuard: BlobGuard
    /// Receipts' xattrs of settled objects, until the catalog says the object changed.
    let xattrCache = Mutex<[LakeID: [String: [UInt8]]]>([:])
    static let cachedXattrs = 4096
    /// The filesystem's open handles (uploads and stored receipts being read).
    let handles: OpenFiles
    let mountedAt: Timestamp

    init(files: IncomingFiles, store: Store, blobGuard: BlobGuard, handles: OpenFiles, mountedAt: Timestamp) {
        self.files = files
        self.store = store
        self.blobGuard = blobGuard
        self.handles = handles
        self.mountedAt = mountedAt
    }

    static func owns(_ node: UInt64) -> Bool { node == NodeID.incoming || node >= NodeID.incomingBase }

    /// The inode of a receipt's catalog node (0 is incoming/ itself), and back.
    static func inode(_ node: Int64) -> UInt64 { node == 0 ? NodeID.incoming : NodeID.incomingBase + UInt64(node) }
    static func row(_ inode: UInt64) -> Int64 { inode == NodeID.incoming ? 0 : Int64(inode - NodeID.incomingBase) }

    static func attributes(_ entry: IncomingFiles.Entry) -> Attributes {
        let live = entry.receipt
        let id = inode(entry.node)
        let modified = Timestamp(microseconds: live.modified / 1000)
        var attributes = live.isFolder ? Attributes.directory(id, writable: true, modified: modified)
            : Attributes.file(id, size: live.size, writable: true, modified: modified)
        attributes.mode = live.mode & 0o7777
        attributes.uid = live.uid
        attributes.gid = live.gid
        attributes.exactModified = live.modified
        attributes.exactAccessed = live.accessed
        return attributes
    }

    /// Every change to incoming/ goes through this mount, so the kernel learns of it as it
    /// happens (creates, renames and removals update its entries and drop cached listings):
    /// folders and stored files may be cached for long. A file still being written is asked again.
    static func timeout(_ entry: IncomingFiles.Entry) -> Double {
        entry.isStable ? LakeFileSystem.longTimeout : 0
    }

    /// How long the kernel may keep the attributes of a file being written. Only its writer,
    /// through this kernel, changes them, and every write makes the kernel ask for size and
    /// times again; meanwhile `fstat` and the kernel's permission checks (with
    /// `default_permissions`, each check of an expired inode is a GETATTR: three round trips
    /// per small file copied) are answered from the cache. Its name is still asked again, so a
    /// failed upload's name is gone at once.
    static let writingAttributeTimeout = LakeFileSystem.shortTimeout

    static func attributeTimeout(_ entry: IncomingFiles.Entry) -> Double {
        entry.isStable ? LakeFileSystem.longTimeout : writingAttributeTimeout
    }

    static func dirEntry(_ entry: IncomingFiles.Entry) -> Entry {
        Entry(attributes: attributes(entry), timeout: timeout(entry), attributeTimeout: attributeTimeout(entry))
    }

    func receiptAttributes(_ node: UInt64) -> Attributes? {
        guard node >= NodeID.incomingBase else { return nil }
        return files.entry(Self.row(node)).map(Self.attributes)
    }

    func lookup(parent: UInt64, name: FileName) throws(FSError) -> Entry? {
        guard Self.owns(parent) else { return nil }
        do { return Self.dirEntry(try files.lookup(parent: Self.row(parent), name: name)) } catch { throw FSError.from(error) }
    }

    func listing(_ folder: UInt64) -> [DirectoryEntry]? {
        guard Self.owns(folder) else { return nil }
        return files.list(Self.row(folder))?.map { name, entry in
            DirectoryEntry(name: name, attributes: Self.attributes(entry), timeout: Self.timeout(entry))
        }
    }

    /// Whether a node's listing may stay in the kernel's caches (see `timeout`).
    func isStable(_ node: UInt64) -> Bool? {
        guard Self.owns(node) else { return nil }
        if node == NodeID.incoming { return true }
        return files.entry(Self.row(node)).map { $0.receipt.isFolder || $0.receipt.blobID != nil } ?? false
    }

    /// A receipt says which object it became and how it is doing: `user.lake.id` and a live
    /// `user.lake.status` (and `user.lake.failure_reason`), and the metadata that may be set on
    /// it (`user.lake.params`, `user.lake.tags`, `user.lake.geometry_units`), kept in memory once
    /// the object has settled. A receipt is not an entity, so it has no `user.lake.kind` (every name a
    /// `getfattr -d` finds costs it two round trips); the object's full set is on
    /// `objects/<id>/file`.
    func receiptXattrs(_ node: UInt64) -> [String: [UInt8]]? {
        guard Self.owns(node) else { return nil }
        guard let id = files.entry(Self.row(node))?.receipt.objectID else { return [:] }
        if let cached = xattrCache.withLock({ $0[id] }) { return cached }
        guard let object = try? store.object(id) else {
            // Not stored yet: the id it will have.
            return ["user.lake.id": Array(id.rawValue.utf8)]
        }
        let values = Xattrs.receipt(object)
        if object.status.isTerminal {
            xattrCache.withLock { cache in
                if cache.count >= Self.cachedXattrs { cache.removeAll() }
                cache[id] = values
            }
        }
        return values
    }

    /// Forgets what is cached of objects the catalog says changed, and the receipts of those
    /// that left the lake (trashed or purged elsewhere); returns the entries the kernel must drop.
    func forget(_ ids: Set<LakeID>) -> [LakeFileSystem.Invalidation] {
        xattrCache.withLock { cache in
            for id in ids { cache.removeValue(forKey: id) }
        }
        return files.dropReceipts(of: ids).flatMap { gone -> [LakeFileSystem.Invalidation] in
            [.entry(parent: Self.inode(gone.parent), name: gone.name), .node(Self.inode(gone.parent))]
        }
    }

    // MARK: changes

    func create(parent: UInt64, name: FileName, mode: UInt32, caller: Caller, handles: OpenFiles) throws(FSError) -> (Entry, OpenPlan) {
        guard Self.owns(parent) else { throw .readOnly }
        do {
            let (entry, upload) = try files.create(parent: Self.row(parent), name: name, mode: mode, caller: caller)
            var created = Self.dirEntry(entry)
            created.timeout = 0
            created.attributeTimeout = Self.writingAttributeTimeout
            return (created, OpenPlan(handle: handles.add(.upload(upload)), caching: .direct))
        } catch {
            throw FSError.from(error)
        }
    }

    func open(_ node: UInt64, flags: Int32, caller: Caller, handles: OpenFiles) throws(FSError) -> OpenPlan? {
        guard Self.owns(node) else { return nil }
        guard let current = files.entry(Self.row(node)) else { throw .notFound }
        if current.receipt.isFolder { throw .isDirectory }
        if flags & O_ACCMODE == O_RDONLY {
            guard let blob = current.receipt.blobID else { throw .io("the file is still being uploaded") }
            let handle = handles.add(try blobGuard.source(blob, size: current.receipt.size, in: handles))
            return OpenPlan(handle: handle, caching: .direct, needsFlush: false)
        }
        // Rewriting a receipt (O_TRUNC) uploads a new object under the same name; appending to
        // it or changing it in place cannot make a whole new file, so it is refused.
        guard flags & O_TRUNC != 0, flags & O_APPEND == 0 else { throw .unsupported }
        do {
            return OpenPlan(handle: handles.add(.upload(try files.rewrite(Self.row(node), caller: caller))), caching: .direct)
        } catch {
            throw FSError.from(error)
        }
    }

    func makeFolder(parent: UInt64, name: FileName, mode: UInt32, caller: Caller) throws(FSError) -> Entry {
        guard Self.owns(parent) else { throw .readOnly }
        do {
            var entry = Self.dirEntry(try files.makeFolder(parent: Self.row(parent), name: name, mode: mode, caller: caller))
            entry.timeout = 0
            entry.attributeTimeout = 0
            return entry
        } catch {
            throw FSError.from(error)
        }
    }

    func setMetadata(_ node: UInt64, name: String, value: [UInt8]) throws(FSError) {
        do { try files.setMetadata(Self.row(node), name: name, value: value) } catch { throw FSError.from(error) }
        // Its receipt's xattrs show the new values at once, not after the change watcher's poll.
        if let id = files.entry(Self.row(node))?.receipt.objectID { _ = forget([id]) }
    }

    func remove(parent: UInt64, name: FileName, folder: Bool) throws(FSError) {
        guard Self.owns(parent) else { throw .readOnly }
        do { try files.remove(parent: Self.row(parent), name: name, folder: folder) } catch { throw FSError.from(error) }
    }

    func rename(parent: UInt64, name: FileName, to newParent: UInt64, newName: FileName) throws(FSError) {
        guard Self.owns(parent), Self.owns(newParent) else { throw .readOnly }
        do {
            try files.rename(parent: Self.row(parent), name: name, to: Self.row(newParent), newName: newName)
        } catch {
            throw FSError.from(error)
        }
    }

    func setAttributes(_ node: UInt64, mode: UInt32?, uid: UInt32?, gid: UInt32?, modified: Int64?, accessed: Int64?) throws(FSError) {
        do {
            try files.setAttributes(Self.row(node), mode: mode, uid: uid, gid: gid, modified: modified, accessed: accessed)
        } catch {
            throw FSError.from(error)
        }
    }
}
