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
    final class Upload: Sendable {
        let node: UInt64
        let lock = Mutex<StreamingUpload?>(nil)
        let failure = Mutex<FSError?>(nil)
        init(node: UInt64, upload: StreamingUpload) {
            self.node = node
            lock.withLock { $0 = upload }
        }
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
        /// Its upload failed: the name is gone; the node stays until its last close.
        var orphan = false
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

    /// Refuses a blob found missing or damaged.
    let blobGuard: BlobGuard

    init(store: Store, logger: Logger, blobGuard: BlobGuard) {
        self.store = store
        self.logger = logger
        self.blobGuard = blobGuard
    }

    static func owns(_ node: UInt64) -> Bool { node == NodeID.incoming || node >= NodeID.incomingBase }

    func attributes(_ node: UInt64) -> Attributes? {
        guard node >= NodeID.incomingBase else { return nil }
        return state.withLock { state in state.nodes[node].map { Self.attributes(node, $0) } }
    }

    static func attributes(_ id: UInt64, _ node: Node) -> Attributes {
        let size = node.size
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

    func create(parent: UInt64, name: String, uid: UInt32, files: OpenFiles) throws(FSError) -> (Entry, OpenPlan) {
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
        return (Entry(attributes: Self.attributes(id, node), timeout: 0), OpenPlan(handle: handle, caching: .direct))
    }

    func open(_ node: UInt64, flags: Int32, files: OpenFiles) throws(FSError) -> OpenPlan? {
        guard Self.owns(node) else { return nil }
        guard let current = state.withLock({ $0.nodes[node] }) else { throw .notFound }
        if current.isFolder { throw .isDirectory }
        if flags & O_ACCMODE == O_RDONLY {
            guard current.committed, let blob = current.blobID else { throw .io("the file is still being uploaded") }
            try blobGuard.check(blob, size: current.size)
            do {
                let handle = files.add(.blob(try files.blob(blob) { try store.blobs.open(blob) }))
                return OpenPlan(handle: handle, caching: .direct)
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
        return OpenPlan(handle: files.add(.upload(upload)), caching: .direct)
    }

    func write(_ upload: Upload, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FSError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        let open: Bool
        do {
            open = try upload.lock.withLock { streaming in
                guard let streaming else { return false }
                try streaming.write(bytes, at: offset)
                return true
            }
        } catch {
            logger.error("upload through incoming/ failed while writing: \(error)")
            throw fail(upload, FSError.from(error))
        }
        // A descriptor that outlived the committing close: the stored object cannot change, so
        // the writer is told (the receipt and its object stay as they are).
        guard open else { throw .io("the file was stored at its first close; write a new file") }
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
    ///
    /// A close made by a process that a signal is ending (killed, crashed, interrupted) is not a
    /// commit: what it wrote is whatever it had got to, not the file. The upload is abandoned.
    /// SIGPIPE is the ordinary end of a pipeline's producer, so it does not count.
    func flush(_ upload: Upload, caller: Caller) throws(FSError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        guard let name = state.withLock({ $0.nodes[upload.node]?.name }) else { return }
        if let signal = ProcessStatus.endingSignal(of: caller.pid), signal != SIGPIPE,
           upload.lock.withLock({ $0 != nil }) {
            logger.warning("incoming/\(name): its writer (pid \(caller.pid)) was ended by signal \(signal) while it held the file open; nothing is stored")
            _ = fail(upload, .io("the writer was ended by signal \(signal)"))
            return
        }
        guard Self.isFinal(name) else { return }
        if upload.lock.withLock({ ($0?.size ?? 0) == 0 }) { return }
        try commit(upload)
    }

    /// Abandons an upload for good: its pending object goes, its name leaves incoming/ (a
    /// receipt that answered EIO would name nothing), and every later write and close of it
    /// fails with `failure`.
    func fail(_ upload: Upload, _ failure: FSError) -> FSError {
        let first = upload.failure.withLock { current in
            if current == nil { current = failure }
            return current!
        }
        upload.lock.withLock { streaming in
            streaming?.abort()
            streaming = nil
        }
        state.withLock { state in
            guard var node = state.nodes[upload.node], node.upload === upload else { return }
            node.objectID = nil
            if state.children[node.parent]?[node.name] == upload.node { state.children[node.parent]![node.name] = nil }
            node.orphan = true
            state.nodes[upload.node] = node
        }
        return first
    }

    /// Cuts or extends a file being written (`ftruncate`, `truncate -s`, `cp` of a file ending
    /// in a hole).
    func truncate(_ upload: Upload, to size: Int64) throws(FSError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        do {
            try upload.lock.withLock { streaming in
                guard let streaming else { throw FSError.unsupported }
                try streaming.truncate(to: size)
            }
        } catch {
            let mapped = FSError.from(error)
            if mapped == .unsupported { throw mapped }
            throw fail(upload, mapped)
        }
        state.withLock { state in
            if state.nodes[upload.node]?.upload === upload {
                state.nodes[upload.node]?.size = size
                state.nodes[upload.node]?.modified = .now
            }
        }
    }

    /// The open upload of a file still being written, if any (a `truncate -s` by name).
    func activeUpload(_ node: UInt64) -> Upload? {
        guard let upload = state.withLock({ $0.nodes[node]?.upload }) else { return nil }
        return upload.lock.withLock { $0 != nil } ? upload : nil
    }

    func commit(_ upload: Upload) throws(FSError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        let isManifest = state.withLock { state in
            state.nodes[upload.node].map { FileFormat(inferredFrom: $0.name) == .vtm } ?? false
        }
        do {
            let committed = try upload.lock.withLock { streaming -> (LakeID, String?, Int64, ManifestLinks?)? in
                guard let pending = streaming else { return nil }
                // A failed commit has dropped everything (commit aborts itself): the upload is
                // over either way.
                streaming = nil
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
            throw fail(upload, FSError.from(error))
        }
    }

    /// The last close: a final-named file not yet committed (no flush came) is committed now;
    /// a failed upload's node goes.
    func released(_ upload: Upload) {
        if let name = state.withLock({ $0.nodes[upload.node]?.name }), Self.isFinal(name) { try? commit(upload) }
        state.withLock { state in
            if let node = state.nodes[upload.node], node.orphan, node.upload === upload { state.nodes[upload.node] = nil }
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
