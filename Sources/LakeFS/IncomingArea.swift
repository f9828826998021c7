#if canImport(Glibc)
import Glibc
#endif
import LakeCatalog
import LakeCore
import LakeModel
import LakeSystem
import Logging
import Synchronization

/// `incoming/`: a writable drop box. A file written here is uploaded when it is closed (the
/// close fails with EIO/ENOSPC if the store cannot take it); afterwards its entry stays as a
/// receipt whose `user.lake.id` names the new object. Names starting with `.` are uploaded only
/// once renamed to a final name. Removing a receipt removes the receipt only.
final class IncomingArea: Sendable {
    let store: Store
    let logger: Logger
    let state = Mutex(State())

    /// A file being written: its streaming upload, committed at most once. After a failed
    /// write the upload is abandoned and every later write and close fails too.
    final class Upload: @unchecked Sendable {
        let node: UInt64
        let lock = Mutex<StreamingUpload?>(nil)
        let failure = Mutex<FSError?>(nil)
        init(node: UInt64, upload: StreamingUpload) {
            self.node = node
            lock.withLock { $0 = upload }
        }

        /// Where the kernel writes this upload by itself (FUSE passthrough), if it does; kept
        /// until the last close, to notice bytes written after the commit.
        let spool = Mutex<(file: KernelSpool?, committed: KernelSpool.Stamp?)>((nil, nil))

        func read(offset: Int64, count: Int) throws(FSError) -> LakeFileSystem.ReadReply {
            throw .io("the file is still being uploaded")
        }

        /// The bytes the kernel has written into the spool, if it writes one.
        var spooledSize: Int64? { spool.withLock { $0.file?.stamp.size } }
    }

    struct Node {
        var name: String
        var parent: UInt64
        var isFolder: Bool
        var objectID: LakeID?
        var size: Int64 = 0
        var modified: Timestamp
        var upload: Upload?
        var uid: UInt32
        /// The upload is stored and its object exists (a block a manifest may point at).
        var committed = false
        var blobID: String?
    }

    struct State {
        var nodes: [UInt64: Node] = [:]
        var children: [UInt64: [String: UInt64]] = [NodeID.incoming: [:]]
        var next: UInt64 = NodeID.incomingBase + 1
        /// Manifests stored before some of their blocks, by object id.
        var waiting: [LakeID: WaitingManifest] = [:]
        /// Receipts' xattrs of settled objects, until the catalog says the object changed.
        var xattrs: [LakeID: [String: [UInt8]]] = [:]
    }

    init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    static func owns(_ node: UInt64) -> Bool { node == NodeID.incoming || node >= NodeID.incomingBase }

    func attributes(_ node: UInt64) -> Attributes? {
        guard node >= NodeID.incomingBase else { return nil }
        return state.withLock { state in state.nodes[node].map { Self.attributes(node, $0) } }
    }

    static func attributes(_ id: UInt64, _ node: Node) -> Attributes {
        let size = node.committed ? node.size : max(node.size, node.upload?.spooledSize ?? 0)
        var attributes = node.isFolder ? Attributes.directory(id, writable: true, modified: node.modified)
            : Attributes.file(id, size: size, writable: true, modified: node.modified)
        attributes.uid = node.uid
        return attributes
    }

    func lookup(parent: UInt64, name: String) throws(FSError) -> Entry? {
        guard Self.owns(parent) else { return nil }
        return try state.withLock { state throws(FSError) -> Entry in
            guard let child = state.children[parent]?[name], let node = state.nodes[child] else { throw .notFound }
            return Entry(attributes: Self.attributes(child, node), timeout: Self.timeout(node))
        }
    }

    func list(_ folder: UInt64) -> [DirectoryEntry]? {
        guard Self.owns(folder) else { return nil }
        return state.withLock { state in
            (state.children[folder] ?? [:]).sorted { $0.key < $1.key }.compactMap { name, id in
                state.nodes[id].map { DirectoryEntry(name: name, attributes: Self.attributes(id, $0), timeout: Self.timeout($0)) }
            }
        }
    }

    /// Every change to incoming/ goes through this mount, so the kernel learns of it as it
    /// happens (creates, renames and removals update its entries and drop cached listings):
    /// folders and stored files may be cached for long. A file still being written is asked again.
    static func timeout(_ node: Node) -> Double {
        node.isFolder || node.committed ? LakeFileSystem.longTimeout : 0
    }

    /// Whether a node's listing or pages may stay in the kernel's caches (see `timeout`).
    func isStable(_ node: UInt64) -> Bool? {
        guard Self.owns(node) else { return nil }
        if node == NodeID.incoming { return true }
        return state.withLock { $0.nodes[node].map { $0.isFolder || $0.committed } ?? false }
    }

    /// A receipt says which object it became and how it is doing: `user.lake.id` and a live
    /// `user.lake.status` (and `user.lake.failure_reason`), kept in memory once the object has
    /// settled. A receipt is not an entity, so it has no `user.lake.kind` (every name a
    /// `getfattr -d` finds costs it two round trips); the object's full set is on
    /// `objects/<id>/file`.
    func xattrs(_ node: UInt64) -> [String: [UInt8]]? {
        guard Self.owns(node) else { return nil }
        let (id, cached) = state.withLock { state in
            let id = state.nodes[node]?.objectID
            return (id, id.flatMap { state.xattrs[$0] })
        }
        guard let id else { return [:] }
        if let cached { return cached }
        guard let object = try? store.catalog.object(id) else {
            return ["user.lake.id": Array(id.rawValue.utf8)]
        }
        let values = Xattrs.receipt(object)
        if object.status.isTerminal {
            state.withLock { state in
                if state.nodes[node]?.objectID == id { state.xattrs[id] = values }
            }
        }
        return values
    }

    /// Forgets what is cached of objects the catalog says changed.
    func forget(_ ids: Set<LakeID>) {
        state.withLock { state in
            for id in ids { state.xattrs.removeValue(forKey: id) }
        }
    }

    static func isFinal(_ name: String) -> Bool { !name.hasPrefix(".") }

    // MARK: writing

    func create(parent: UInt64, name: String, uid: UInt32, files: OpenFiles) throws(FSError) -> (Entry, UInt64) {
        guard Self.owns(parent) else { throw .readOnly }
        guard !name.isEmpty, !name.contains("/"), name.utf8.count <= 255 else { throw .invalid }
        let streaming: StreamingUpload
        do {
            streaming = try StreamingUpload(store: store, fileName: name, createdBy: SystemUser.name(uid: uid))
        } catch {
            throw FSError.from(error)
        }
        let (id, node) = try state.withLock { state throws(FSError) -> (UInt64, Node) in
            guard state.children[parent] != nil else { throw .notFound }
            if let existing = state.children[parent]?[name], state.nodes[existing]?.isFolder == true { throw .isDirectory }
            let id = state.next
            state.next += 1
            let node = Node(name: name, parent: parent, isFolder: false, objectID: streaming.id, modified: .now,
                            upload: Upload(node: id, upload: streaming), uid: uid)
            if let replaced = state.children[parent]?[name] { Self.drop(replaced, in: &state) }
            state.nodes[id] = node
            state.children[parent]![name] = id
            return (id, node)
        }
        let handle = files.add(.upload(node.upload!))
        return (Entry(attributes: Self.attributes(id, node), timeout: 0), handle)
    }

    func open(_ node: UInt64, flags: Int32, files: OpenFiles) throws(FSError) -> UInt64? {
        guard Self.owns(node) else { return nil }
        guard let current = state.withLock({ $0.nodes[node] }) else { throw .notFound }
        if current.isFolder { throw .isDirectory }
        if flags & O_ACCMODE == O_RDONLY {
            guard current.committed, let blob = current.blobID else { throw .io("the file is still being uploaded") }
            do {
                return files.add(.blob(try files.blob(blob) { try store.blobs.open(blob) }))
            } catch {
                throw FSError.from(error)
            }
        }
        // Rewriting a receipt (O_TRUNC) uploads a new object under the same name; appending to
        // it or changing it in place cannot make a whole new file, so it is refused.
        guard flags & O_TRUNC != 0, flags & O_APPEND == 0 else { throw .unsupported }
        // The kernel keeps using this node's number, so the node stays and gets a new upload.
        let streaming: StreamingUpload
        do {
            streaming = try StreamingUpload(store: store, fileName: current.name, createdBy: SystemUser.name(uid: current.uid))
        } catch {
            throw FSError.from(error)
        }
        let upload = Upload(node: node, upload: streaming)
        state.withLock { state in
            state.nodes[node]?.upload = upload
            state.nodes[node]?.objectID = streaming.id
            state.nodes[node]?.committed = false
            state.nodes[node]?.blobID = nil
            if let old = current.objectID { state.xattrs.removeValue(forKey: old) }
            state.nodes[node]?.size = 0
            state.nodes[node]?.modified = .now
        }
        return files.add(.upload(upload))
    }

    /// A file the kernel may write a new upload into by itself instead of sending its writes
    /// (see KernelSpool); nil once bytes arrived the ordinary way or the upload is over.
    func kernelSpool(for upload: Upload) -> Int32? {
        guard upload.lock.withLock({ $0.map { $0.size == 0 } ?? false }) else { return nil }
        do {
            return try upload.spool.withLock { spool in
                if spool.file == nil { spool.file = try KernelSpool(in: store.root) }
                return spool.file?.descriptor
            }
        } catch {
            logger.warning("no spool file for the kernel to write an upload into; its writes come to the daemon: \(error)")
            return nil
        }
    }

    func dropKernelSpool(_ upload: Upload) {
        upload.spool.withLock { $0 = (nil, nil) }
    }

    func write(_ upload: Upload, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FSError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        do {
            try upload.lock.withLock { streaming in
                guard let streaming else { throw FSError.io("the file was already uploaded; write a new file") }
                try streaming.write(bytes, at: offset)
            }
        } catch {
            let failure = FSError.from(error)
            upload.failure.withLock { $0 = failure }
            upload.lock.withLock { streaming in
                streaming?.abort()
                streaming = nil
            }
            state.withLock { $0.nodes[upload.node]?.objectID = nil }
            logger.error("upload through incoming/ failed while writing: \(error)")
            throw failure
        }
        // The upload's lock is never taken inside the state's lock (commit takes them the other way).
        // Writes arrive on several threads at once, so a size read earlier may be recorded later:
        // the recorded size only grows (commit records the exact one).
        let size = upload.lock.withLock { $0?.size }
        state.withLock { state in
            if let size, let node = state.nodes[upload.node], upload.node == node.upload?.node, node.upload === upload {
                state.nodes[upload.node]?.size = max(node.size, size)
            }
            state.nodes[upload.node]?.modified = .now
        }
    }

    /// Called on every close(2): a final-named file is committed, and any failure is returned
    /// to the closing program.
    ///
    /// A flush before anything was written is not a commit: shells open a file, dup2 it and
    /// close the original before writing (`echo x > file`), which sends a flush first. Such a
    /// file is committed at its last close instead (an empty file, if nothing ever comes).
    func flush(_ upload: Upload) throws(FSError) {
        guard let name = state.withLock({ $0.nodes[upload.node]?.name }), Self.isFinal(name) else { return }
        if upload.lock.withLock({ ($0?.size ?? 0) == 0 }) && (upload.spooledSize ?? 0) == 0 { return }
        try commit(upload)
    }

    func commit(_ upload: Upload) throws(FSError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        let (isManifest, name) = state.withLock { state in
            (state.nodes[upload.node].map { FileFormat(inferredFrom: $0.name) == .vtm } ?? false, state.nodes[upload.node]?.name ?? "")
        }
        do {
            let committed = try upload.lock.withLock { streaming -> (LakeID, String?, Int64, ManifestLinks?)? in
                guard let pending = streaming else { return nil }
                // A failed commit has dropped everything (commit aborts itself; a failed copy of
                // the spool is aborted here): the upload is over either way.
                streaming = nil
                if let spool = upload.spool.withLock({ $0.file }) {
                    do {
                        try pending.write(contentsOf: try spool.contents(name: name)) { _ in }
                    } catch {
                        // A full disk: the spool's space first, so that the catalog can drop the
                        // pending object.
                        spool.empty()
                        pending.abort()
                        throw error
                    }
                    upload.spool.withLock { $0.committed = spool.stamp }
                }
                var links: ManifestLinks?
                try pending.commit(linking: isManifest ? { file in
                    links = self.links(forManifestAt: upload.node, file: file)
                    return links
                } : nil)
                logger.info("uploaded through incoming/", metadata: ["object": "\(pending.id)", "bytes": "\(pending.size)"])
                return (pending.id, pending.blobID, pending.size, links)
            }
            if let (id, blob, size, links) = committed { arrived(upload.node, object: id, blob: blob, size: size, links: links) }
        } catch {
            logger.error("upload through incoming/ failed: \(error)")
            let failure = FSError.from(error)
            upload.failure.withLock { $0 = $0 ?? failure }
            state.withLock { $0.nodes[upload.node]?.objectID = nil }
            throw failure
        }
    }

    /// The last close: a final-named file not yet committed (no flush came) is committed now.
    func released(_ upload: Upload) {
        guard let name = state.withLock({ $0.nodes[upload.node]?.name }), Self.isFinal(name) else { return }
        try? commit(upload)
        // Nothing can write the spool any more. Bytes written after the commit (through a
        // descriptor that outlived the first close) are not in the object, as they would not be
        // without the spool, where such writes fail; say so.
        let (committed, last) = upload.spool.withLock { spool in
            defer { spool = (nil, nil) }
            return (spool.committed, spool.file?.stamp)
        }
        if let committed, let last, committed != last {
            logger.warning("incoming/\(name): bytes written after its upload was committed at its first close are not in the object (it holds \(committed.size) bytes)")
        }
    }

    // MARK: folders, removal, renames

    func makeFolder(parent: UInt64, name: String, uid: UInt32) throws(FSError) -> Entry {
        guard Self.owns(parent) else { throw .readOnly }
        return try state.withLock { state throws(FSError) -> Entry in
            guard state.children[parent] != nil else { throw .notFound }
            guard state.children[parent]![name] == nil else { throw .exists }
            let id = state.next
            state.next += 1
            let node = Node(name: name, parent: parent, isFolder: true, modified: .now, uid: uid)
            state.nodes[id] = node
            state.children[id] = [:]
            state.children[parent]![name] = id
            return Entry(attributes: Self.attributes(id, node), timeout: 0)
        }
    }

    func remove(parent: UInt64, name: String, folder: Bool) throws(FSError) {
        guard Self.owns(parent) else { throw .readOnly }
        let upload = try state.withLock { state throws(FSError) -> Upload? in
            guard let id = state.children[parent]?[name], let node = state.nodes[id] else { throw .notFound }
            if folder != node.isFolder { throw folder ? .notDirectory : .isDirectory }
            if folder && !(state.children[id]?.isEmpty ?? true) { throw .notEmpty }
            state.children[parent]![name] = nil
            Self.drop(id, in: &state)
            return node.upload
        }
        // Removing a file still being written abandons its upload; a receipt's object stays.
        upload?.lock.withLock { streaming in
            streaming?.abort()
            streaming = nil
        }
        if let upload { dropKernelSpool(upload) }
    }

    static func drop(_ id: UInt64, in state: inout State) {
        if let object = state.nodes[id]?.objectID { state.xattrs.removeValue(forKey: object) }
        state.nodes[id] = nil
        state.children[id] = nil
    }

    func rename(parent: UInt64, name: String, to newParent: UInt64, newName: String) throws(FSError) {
        guard Self.owns(parent), Self.owns(newParent) else { throw .readOnly }
        let upload = try state.withLock { state throws(FSError) -> Upload? in
            guard let id = state.children[parent]?[name], var node = state.nodes[id] else { throw .notFound }
            guard state.children[newParent] != nil else { throw .notFound }
            if let existing = state.children[newParent]?[newName], existing != id {
                if state.nodes[existing]?.isFolder == true { throw .isDirectory }
                Self.drop(existing, in: &state)
            }
            state.children[parent]![name] = nil
            node.name = newName
            node.parent = newParent
            state.nodes[id] = node
            state.children[newParent]![newName] = id
            return Self.isFinal(newName) && !Self.isFinal(name) ? node.upload : nil
        }
        // A temporary dot-file renamed to its final name is uploaded now, under that name.
        if let upload {
            do {
                try upload.lock.withLock { streaming in try streaming?.rename(to: newName) }
            } catch {
                throw FSError.from(error)
            }
            try commit(upload)
        }
    }
}
