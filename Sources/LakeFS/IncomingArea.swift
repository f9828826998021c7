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
///
/// Entries are catalog rows (`Receipt`), loaded when the mount starts and written through on
/// every change, so receipts and folders outlive the mount with their mode, owner and times:
/// `rsync -a` run twice finds the files it copied and uploads nothing.
final class IncomingArea: Sendable {
    let store: Store
    let logger: Logger
    let state: Mutex<State>

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
        /// What the catalog holds: the last stored version of a receipt (blobID set), a new
        /// file's pending row (blobID nil), or a folder.
        var stored: Receipt
        /// What `stat` shows now: `stored` plus changes of an upload in progress.
        var live: Receipt
        var upload: Upload?
        /// Its upload failed: the name is gone; the node stays until its last close.
        var orphan = false

        var isFolder: Bool { live.isFolder }
        var name: FileName { FileName(bytes: live.name) }
        /// The upload is stored and its object exists (a block a manifest may point at).
        var committed: Bool { live.blobID != nil }
        var objectID: LakeID? { live.objectID }
    }

    struct State {
        var nodes: [UInt64: Node] = [:]
        var children: [UInt64: [FileName: UInt64]] = [NodeID.incoming: [:]]
        /// Manifests stored before some of their blocks, by object id.
        var waiting: [LakeID: WaitingManifest] = [:]
        /// Receipts' xattrs of settled objects, until the catalog says the object changed.
        var xattrs: [LakeID: [String: [UInt8]]] = [:]
    }

    /// Refuses a blob found missing or damaged.
    let blobGuard: BlobGuard
    /// Makes small uploads durable in batches (nil: each upload syncs its own file).
    let settler: BlobSettler?
    /// Node numbers reserved in the catalog for files created here (see `nextNode`).
    let numbers = Mutex<ClosedRange<Int64>?>(nil)

    init(store: Store, logger: Logger, blobGuard: BlobGuard, settler: BlobSettler?) {
        self.store = store
        self.logger = logger
        self.blobGuard = blobGuard
        self.settler = settler
        var state = State()
        do {
            for receipt in try store.catalog.receipts() {
                let id = Self.inode(receipt.node)
                state.nodes[id] = Node(stored: receipt, live: receipt)
                if receipt.isFolder { state.children[id, default: [:]] = state.children[id] ?? [:] }
            }
            for (id, node) in state.nodes {
                state.children[Self.inode(node.stored.parent), default: [:]][node.name] = id
            }
        } catch {
            logger.error("cannot read incoming/'s receipts from the catalog; incoming/ starts empty: \(error)")
        }
        self.state = Mutex(state)
    }

    static func owns(_ node: UInt64) -> Bool { node == NodeID.incoming || node >= NodeID.incomingBase }

    /// The inode of a receipt's catalog node (0 is incoming/ itself), and back.
    static func inode(_ node: Int64) -> UInt64 { node == 0 ? NodeID.incoming : NodeID.incomingBase + UInt64(node) }
    static func row(_ inode: UInt64) -> Int64 { inode == NodeID.incoming ? 0 : Int64(inode - NodeID.incomingBase) }

    static func nanoseconds(_ time: Timestamp = .now) -> Int64 { time.microseconds * 1000 }

    func attributes(_ node: UInt64) -> Attributes? {
        guard node >= NodeID.incomingBase else { return nil }
        return state.withLock { state in state.nodes[node].map { Self.attributes(node, $0) } }
    }

    static func attributes(_ id: UInt64, _ node: Node) -> Attributes {
        let live = node.live
        let modified = Timestamp(microseconds: live.modified / 1000)
        var attributes = node.isFolder ? Attributes.directory(id, writable: true, modified: modified)
            : Attributes.file(id, size: live.size, writable: true, modified: modified)
        attributes.mode = live.mode & 0o7777
        attributes.uid = live.uid
        attributes.gid = live.gid
        attributes.exactModified = live.modified
        attributes.exactAccessed = live.accessed
        return attributes
    }

    func lookup(parent: UInt64, name: FileName) throws(FSError) -> Entry? {
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
        node.isFolder || (node.committed && node.upload == nil) ? LakeFileSystem.longTimeout : 0
    }

    /// Whether a node's listing may stay in the kernel's caches (see `timeout`).
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

    // MARK: writing

    func create(parent: UInt64, name: FileName, mode: UInt32, caller: Caller, files: OpenFiles) throws(FSError) -> (Entry, OpenPlan) {
        guard Self.owns(parent) else { throw .readOnly }
        guard !name.isEmpty, !name.bytes.contains(UInt8(ascii: "/")), name.bytes.count <= 255 else { throw .invalid }
        let replaced = try state.withLock { state throws(FSError) -> UInt64? in
            guard state.children[parent] != nil else { throw .notFound }
            guard let existing = state.children[parent]?[name] else { return nil }
            if state.nodes[existing]?.isFolder == true { throw .isDirectory }
            return existing
        }
        let now = Self.nanoseconds()
        // The new file's receipt and object are written to the catalog only when it is stored,
        // in the transaction that stores it: a file that never completes leaves no row.
        let streaming: StreamingUpload
        let row: Int64
        do {
            row = try nextNode()
            streaming = try StreamingUpload(store: store, fileName: name.lossless, createdBy: SystemUser.name(uid: caller.uid))
        } catch {
            throw FSError.from(error)
        }
        let id = Self.inode(row)
        let stored = Receipt(node: row, parent: Self.row(parent), name: name.bytes, isFolder: false, objectID: streaming.id,
                             mode: mode & 0o7777, uid: caller.uid, gid: caller.gid, modified: now, accessed: now)
        let upload = Upload(node: id, upload: streaming)
        let node = Node(stored: stored, live: stored, upload: upload)
        state.withLock { state in
            if let replaced, state.children[parent]?[name] == replaced { Self.drop(replaced, in: &state) }
            state.nodes[id] = node
            state.children[parent]![name] = id
        }
        return (Entry(attributes: Self.attributes(id, node), timeout: 0), OpenPlan(handle: files.add(.upload(upload)), caching: .direct))
    }

    /// A number for a new file's receipt, from a block reserved in the catalog (one
    /// transaction per 1,024 files, shared safely by several mounts of one store).
    func nextNode() throws -> Int64 {
        try numbers.withLock { range in
            if range == nil || range!.isEmpty { range = try store.catalog.reserveReceiptNodes(1024) }
            let node = range!.lowerBound
            range = range!.dropFirst().isEmpty ? nil : (node + 1)...range!.upperBound
            return node
        }
    }

    func open(_ node: UInt64, flags: Int32, files: OpenFiles) throws(FSError) -> OpenPlan? {
        guard Self.owns(node) else { return nil }
        guard let current = state.withLock({ $0.nodes[node] }) else { throw .notFound }
        if current.isFolder { throw .isDirectory }
        if flags & O_ACCMODE == O_RDONLY {
            guard current.committed, let blob = current.live.blobID else { throw .io("the file is still being uploaded") }
            try blobGuard.check(blob, size: current.live.size)
            do {
                let handle = files.add(try files.blobSource(blob) { try store.blobs.open(blob) })
                return OpenPlan(handle: handle, caching: .direct)
            } catch {
                throw FSError.from(error)
            }
        }
        // Rewriting a receipt (O_TRUNC) uploads a new object under the same name; appending to
        // it or changing it in place cannot make a whole new file, so it is refused.
        guard flags & O_TRUNC != 0, flags & O_APPEND == 0 else { throw .unsupported }
        // The kernel keeps using this node's number, so the node stays and gets a new upload.
        // Its stored row changes only when the new version is stored.
        let streaming: StreamingUpload
        do {
            streaming = try StreamingUpload(store: store, fileName: current.name.lossless, createdBy: SystemUser.name(uid: current.live.uid))
        } catch {
            throw FSError.from(error)
        }
        let upload = Upload(node: node, upload: streaming)
        state.withLock { state in
            guard var changed = state.nodes[node] else { return }
            if let old = changed.objectID { state.xattrs.removeValue(forKey: old) }
            changed.upload = upload
            changed.live.objectID = streaming.id
            changed.live.blobID = nil
            changed.live.size = 0
            changed.live.modified = Self.nanoseconds()
            state.nodes[node] = changed
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
        let now = Self.nanoseconds()
        state.withLock { state in
            guard var node = state.nodes[upload.node], node.upload === upload else { return }
            if let size { node.live.size = max(node.live.size, size) }
            node.live.modified = now
            state.nodes[upload.node] = node
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
            logger.warning("incoming/\(name.display): its writer (pid \(caller.pid)) was ended by signal \(signal) while it held the file open; nothing is stored")
            _ = fail(upload, .io("the writer was ended by signal \(signal)"))
            return
        }
        guard !name.isHidden else { return }
        if upload.lock.withLock({ ($0?.size ?? 0) == 0 }) { return }
        try commit(upload)
    }

    /// Abandons an upload for good: its pending object goes, and every later write and close
    /// of it fails with `failure`. A new file's name leaves incoming/ with it (a receipt that
    /// answered EIO would name nothing); a receipt being rewritten keeps its stored version.
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
            if node.stored.blobID != nil {
                // A rewrite of a stored receipt: the receipt stays as it was stored.
                node.live = node.stored
                node.upload = nil
            } else {
                // A new file: its name goes now; the node goes at the last close (`released`).
                let folder = Self.inode(node.stored.parent)
                if state.children[folder]?[node.name] == upload.node { state.children[folder]![node.name] = nil }
                node.orphan = true
            }
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
        let now = Self.nanoseconds()
        state.withLock { state in
            guard var node = state.nodes[upload.node], node.upload === upload else { return }
            node.live.size = size
            node.live.modified = now
            state.nodes[upload.node] = node
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
            state.nodes[upload.node].map { FileFormat(inferredFrom: $0.name.display) == .vtm } ?? false
        }
        do {
            let committed = try upload.lock.withLock { streaming -> (LakeID, Receipt, ManifestLinks?)? in
                guard let pending = streaming else { return nil }
                // A failed commit has dropped everything (commit aborts itself): the upload is
                // over either way.
                streaming = nil
                var links: ManifestLinks?
                var receipt: Receipt?
                try pending.commit(linking: isManifest ? { file in
                    links = self.links(forManifestAt: upload.node, file: file)
                    return links
                } : nil, receipt: { stored in
                    // What the receipt is at this instant (times and mode set while writing
                    // included), recorded in the transaction that stores the object.
                    receipt = self.state.withLock { state in
                        guard var live = state.nodes[upload.node]?.live else { return nil }
                        live.objectID = pending.id
                        live.blobID = stored.id
                        live.size = stored.size
                        return live
                    }
                    return receipt
                }, settler: settler)
                logger.info("uploaded through incoming/", metadata: ["object": "\(pending.id)", "bytes": "\(pending.size)"])
                return receipt.map { (pending.id, $0, links) }
            }
            if let (id, receipt, links) = committed {
                arrived(upload.node, object: id, receipt: receipt, links: links)
            }
        } catch {
            logger.error("upload through incoming/ failed: \(error)")
            throw fail(upload, FSError.from(error))
        }
    }

    /// The last close: a final-named file not yet committed (no flush came) is committed now;
    /// a failed upload's node goes.
    func released(_ upload: Upload) {
        if let name = state.withLock({ $0.nodes[upload.node]?.name }), !name.isHidden { try? commit(upload) }
        // The upload's lock is never taken inside the state's lock (commit takes them the other way).
        let over = upload.lock.withLock { $0 == nil }
        state.withLock { state in
            guard var node = state.nodes[upload.node], node.upload === upload else { return }
            if node.orphan {
                state.nodes[upload.node] = nil
            } else if over {
                node.upload = nil
                state.nodes[upload.node] = node
            }
        }
    }

    // MARK: attributes

    /// chmod, chown, utimens on a receipt or folder: kept (and stored), so `cp -p` and `rsync -a`
    /// find what they set. A file still being written keeps them in memory until it is stored.
    func setAttributes(_ node: UInt64, mode: UInt32?, uid: UInt32?, gid: UInt32?, modified: Int64?, accessed: Int64?) throws(FSError) {
        // Whether the file is still being written, asked outside the state's lock (see `released`).
        let writing = state.withLock { $0.nodes[node]?.upload }.map { upload in upload.lock.withLock { $0 != nil } } ?? false
        let changed = try state.withLock { state throws(FSError) -> Receipt? in
            guard var entry = state.nodes[node] else { throw .notFound }
            if let mode { entry.live.mode = mode & 0o7777 }
            if let uid { entry.live.uid = uid }
            if let gid { entry.live.gid = gid }
            if let modified { entry.live.modified = modified }
            if let accessed { entry.live.accessed = accessed }
            // A stored receipt or folder changes now; one being written changes when stored
            // (its stored row is the previous version, or a pending row that goes if it fails).
            if !writing && !entry.orphan {
                entry.stored.mode = entry.live.mode
                entry.stored.uid = entry.live.uid
                entry.stored.gid = entry.live.gid
                entry.stored.modified = entry.live.modified
                entry.stored.accessed = entry.live.accessed
            }
            state.nodes[node] = entry
            return writing || entry.orphan ? nil : entry.stored
        }
        if let changed {
            do { try store.catalog.updateReceipt(changed) } catch { throw FSError.from(error) }
        }
    }

    // MARK: folders, removal, renames

    func makeFolder(parent: UInt64, name: FileName, mode: UInt32, caller: Caller) throws(FSError) -> Entry {
        guard Self.owns(parent) else { throw .readOnly }
        guard !name.isEmpty, name.bytes.count <= 255 else { throw .invalid }
        try state.withLock { state throws(FSError) in
            guard state.children[parent] != nil else { throw .notFound }
            guard state.children[parent]![name] == nil else { throw .exists }
        }
        let now = Self.nanoseconds()
        var receipt = Receipt(parent: Self.row(parent), name: name.bytes, isFolder: true, mode: mode & 0o7777,
                              uid: caller.uid, gid: caller.gid, modified: now, accessed: now)
        do {
            receipt.node = try store.catalog.insertReceipt(receipt, replacing: nil)
        } catch {
            throw FSError.from(error)
        }
        let id = Self.inode(receipt.node)
        let node = Node(stored: receipt, live: receipt)
        state.withLock { state in
            state.nodes[id] = node
            state.children[id] = [:]
            state.children[parent]![name] = id
        }
        return Entry(attributes: Self.attributes(id, node), timeout: 0)
    }

    func remove(parent: UInt64, name: FileName, folder: Bool) throws(FSError) {
        guard Self.owns(parent) else { throw .readOnly }
        let id = try state.withLock { state throws(FSError) -> UInt64 in
            guard let id = state.children[parent]?[name], let node = state.nodes[id] else { throw .notFound }
            if folder != node.isFolder { throw folder ? .notDirectory : .isDirectory }
            if folder && !(state.children[id]?.isEmpty ?? true) { throw .notEmpty }
            return id
        }
        do { try store.catalog.deleteReceipt(Self.row(id)) } catch { throw FSError.from(error) }
        let upload = state.withLock { state -> Upload? in
            let upload = state.nodes[id]?.upload
            if state.children[parent]?[name] == id { state.children[parent]![name] = nil }
            Self.drop(id, in: &state)
            return upload
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

    func rename(parent: UInt64, name: FileName, to newParent: UInt64, newName: FileName) throws(FSError) {
        guard Self.owns(parent), Self.owns(newParent) else { throw .readOnly }
        guard !newName.isEmpty, newName.bytes.count <= 255 else { throw .invalid }
        let (id, replaced) = try state.withLock { state throws(FSError) -> (UInt64, UInt64?) in
            guard let id = state.children[parent]?[name], state.nodes[id] != nil else { throw .notFound }
            guard state.children[newParent] != nil else { throw .notFound }
            // A folder may not move below itself.
            var ancestor = newParent
            while ancestor != NodeID.incoming {
                if ancestor == id { throw .invalid }
                guard let up = state.nodes[ancestor] else { break }
                ancestor = Self.inode(up.stored.parent)
            }
            guard let existing = state.children[newParent]?[newName], existing != id else { return (id, nil) }
            if state.nodes[existing]?.isFolder == true {
                if state.nodes[id]?.isFolder != true { throw .isDirectory }
                if !(state.children[existing]?.isEmpty ?? true) { throw .notEmpty }
            } else if state.nodes[id]?.isFolder == true {
                throw .notDirectory
            }
            return (id, existing)
        }
        do {
            try store.catalog.moveReceipt(Self.row(id), to: Self.row(newParent), name: newName.bytes, replacing: replaced.map(Self.row))
        } catch {
            throw FSError.from(error)
        }
        let upload = state.withLock { state -> Upload? in
            if let replaced { Self.drop(replaced, in: &state) }
            guard var node = state.nodes[id] else { return nil }
            if state.children[parent]?[name] == id { state.children[parent]![name] = nil }
            node.stored.parent = Self.row(newParent)
            node.stored.name = newName.bytes
            node.live.parent = node.stored.parent
            node.live.name = newName.bytes
            state.nodes[id] = node
            state.children[newParent]![newName] = id
            return !newName.isHidden && name.isHidden ? node.upload : nil
        }
        // A temporary dot-file renamed to its final name is uploaded now, under that name.
        if let upload {
            do {
                try upload.lock.withLock { streaming in try streaming?.rename(to: newName.lossless) }
            } catch {
                throw FSError.from(error)
            }
            try commit(upload)
        }
    }
}
