#if canImport(Glibc)
import Glibc
#endif
import LakeCatalog
import LakeModel
import LakeSystem
import Logging
import Synchronization

/// The mount's `incoming/` as a core service: a drop box whose files are uploaded when closed.
/// A file written here becomes an object at its first close after bytes were written (the close
/// fails if the store cannot take it); afterwards its entry stays as a receipt naming the object.
/// Names starting with `.` are uploaded only once renamed to a final name. Removing a receipt
/// removes the receipt only.
///
/// Entries are catalog rows (`Receipt`) numbered by `node` (0 is `incoming/` itself), loaded at
/// start and written through on every change, so receipts and folders outlive the mount with
/// their mode, owner and times: `rsync -a` run twice finds the files it copied and uploads
/// nothing. Names are bytes. The filesystem (`LakeFS`) turns nodes into inodes and errors into
/// errno; what is stored, when, and what a manifest references is decided here.
public final class IncomingFiles: Sendable {
    let store: Store
    let logger: Logger
    let state: Mutex<State>
    /// Makes small uploads durable in batches (nil: each upload syncs its own file).
    let settler: BlobSettler?
    /// Node numbers reserved in the catalog for files created here (see `nextNode`).
    let numbers = Mutex<ClosedRange<Int64>?>(nil)
    /// Each account's use, when lake.json sets quotas. Checked when a file is created and as it
    /// is written, against what is stored: files written at once by one account may together
    /// pass its limit by what they hold until stored.
    let quotas: QuotaLedger?

    /// A file being written: its streaming upload, committed at most once. After a failed
    /// write the upload is abandoned and every later write and close fails too.
    public final class Upload: Sendable {
        public let node: Int64
        let lock = Mutex<StreamingUpload?>(nil)
        let failure = Mutex<IncomingError?>(nil)
        /// Stored, with its spool file's name left for the last close (`released`) to remove:
        /// the close that stored it need not wait for that.
        let storedSpool = Mutex<StreamingUpload?>(nil)
        /// The writer's account: the object's owner, whose quota it counts against.
        let uid: UInt32
        init(node: Int64, upload: StreamingUpload, uid: UInt32) {
            self.node = node
            self.uid = uid
            lock.withLock { $0 = upload }
        }
    }

    struct Node {
        /// What the catalog holds: the last stored version of a receipt (blobID set) or a folder;
        /// a new file has no row until it is stored.
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
    }

    /// What the filesystem shows of an entry.
    public struct Entry: Sendable, Equatable {
        public var node: Int64
        /// Name, mode, owner, times and size as they are now (an upload in progress included).
        public var receipt: Receipt
        /// A folder, or a stored file nobody writes: it changes only through this mount.
        public var isStable: Bool
    }

    struct State {
        var nodes: [Int64: Node] = [:]
        var children: [Int64: [FileName: Int64]] = [0: [:]]
        /// Manifests stored before some of their blocks, by object id.
        var waiting: [LakeID: WaitingManifest] = [:]
    }

    public init(store: Store, logger: Logger, settler: BlobSettler?) {
        self.store = store
        self.logger = logger
        self.settler = settler
        quotas = store.config.quotas == nil ? nil : QuotaLedger(store: store)
        var state = State()
        do {
            for receipt in try store.catalog.receipts() {
                state.nodes[receipt.node] = Node(stored: receipt, live: receipt)
                if receipt.isFolder { state.children[receipt.node] = state.children[receipt.node] ?? [:] }
            }
            for (id, node) in state.nodes {
                state.children[node.stored.parent, default: [:]][node.name] = id
            }
        } catch {
            logger.error("cannot read incoming/'s receipts from the catalog; incoming/ starts empty: \(error)")
        }
        self.state = Mutex(state)
    }

    static func nanoseconds(_ time: Timestamp = .now) -> Int64 { time.microseconds * 1000 }

    static func entry(_ id: Int64, _ node: Node) -> Entry {
        Entry(node: id, receipt: node.live, isStable: node.isFolder || (node.committed && node.upload == nil))
    }

    // MARK: reading

    public func entry(_ node: Int64) -> Entry? {
        state.withLock { state in state.nodes[node].map { Self.entry(node, $0) } }
    }

    public func lookup(parent: Int64, name: FileName) throws(IncomingError) -> Entry {
        try state.withLock { state throws(IncomingError) -> Entry in
            guard let child = state.children[parent]?[name], let node = state.nodes[child] else { throw .notFound }
            return Self.entry(child, node)
        }
    }

    /// A folder's entries by name; nil when `folder` is not one.
    public func list(_ folder: Int64) -> [(name: FileName, entry: Entry)]? {
        state.withLock { state in
            guard let children = state.children[folder] else { return nil }
            return children.sorted { $0.key < $1.key }.compactMap { name, id in
                state.nodes[id].map { (name, Self.entry(id, $0)) }
            }
        }
    }

    // MARK: writing

    /// A new file in `parent`: its upload starts; nothing is in the catalog until it is stored.
    public func create(parent: Int64, name: FileName, mode: UInt32, caller: Caller) throws(IncomingError) -> (Entry, Upload) {
        guard !name.isEmpty, !name.bytes.contains(UInt8(ascii: "/")), name.bytes.count <= 255 else { throw .invalidName }
        let replaced = try state.withLock { state throws(IncomingError) -> Int64? in
            guard state.children[parent] != nil else { throw .notFound }
            guard let existing = state.children[parent]?[name] else { return nil }
            if state.nodes[existing]?.isFolder == true { throw .isDirectory }
            return existing
        }
        let now = Self.nanoseconds()
        let streaming: StreamingUpload
        let row: Int64
        do {
            try quotas?.checkNewObject(uid: caller.uid)
            row = try nextNode()
            streaming = try StreamingUpload(store: store, fileName: name.lossless, createdBy: SystemUser.name(uid: caller.uid),
                                            owner: Ownership(uid: caller.uid, gid: caller.gid, mode: mode))
        } catch {
            throw IncomingError.from(error)
        }
        let stored = Receipt(node: row, parent: parent, name: name.bytes, isFolder: false, objectID: streaming.id,
                             mode: mode & 0o7777, uid: caller.uid, gid: caller.gid, modified: now, accessed: now)
        let upload = Upload(node: row, upload: streaming, uid: caller.uid)
        let node = Node(stored: stored, live: stored, upload: upload)
        state.withLock { state in
            if let replaced, state.children[parent]?[name] == replaced { Self.drop(replaced, in: &state) }
            state.nodes[row] = node
            state.children[parent]![name] = row
        }
        return (Self.entry(row, node), upload)
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

    /// Writing a stored receipt over (`O_TRUNC`): a new object under the same name, made by
    /// `caller` (whoever owns the receipt: only its owner or root may write it, the kernel
    /// checks). The node keeps its number (the kernel keeps using it); its stored row changes
    /// only when the new version is stored.
    public func rewrite(_ node: Int64, caller: Caller) throws(IncomingError) -> Upload {
        guard let current = state.withLock({ $0.nodes[node] }) else { throw .notFound }
        if current.isFolder { throw .isDirectory }
        let streaming: StreamingUpload
        do {
            try quotas?.checkNewObject(uid: caller.uid)
            streaming = try StreamingUpload(store: store, fileName: current.name.lossless, createdBy: SystemUser.name(uid: caller.uid),
                                            owner: Ownership(uid: caller.uid, gid: caller.gid, mode: current.live.mode))
        } catch {
            throw IncomingError.from(error)
        }
        let upload = Upload(node: node, upload: streaming, uid: caller.uid)
        state.withLock { state in
            guard var changed = state.nodes[node] else { return }
            changed.upload = upload
            changed.live.objectID = streaming.id
            changed.live.blobID = nil
            changed.live.size = 0
            changed.live.modified = Self.nanoseconds()
            state.nodes[node] = changed
        }
        return upload
    }

    public func write(_ upload: Upload, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(IncomingError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        let open: Bool
        do {
            open = try upload.lock.withLock { streaming in
                guard let streaming else { return false }
                if let quotas { try quotas.checkBytes(uid: upload.uid, writing: max(streaming.size, offset + Int64(bytes.count))) }
                try streaming.write(bytes, at: offset)
                return true
            }
        } catch {
            logger.error("upload through incoming/ failed while writing: \(error)")
            throw fail(upload, IncomingError.from(error))
        }
        // A descriptor that outlived the committing close: the stored object cannot change, so
        // the writer is told (the receipt and its object stay as they are).
        guard open else { throw .failed("the file was stored at its first close; write a new file") }
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
    public func flush(_ upload: Upload, caller: Caller) throws(IncomingError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        guard let name = state.withLock({ $0.nodes[upload.node]?.name }) else { return }
        if let signal = ProcessStatus.endingSignal(of: caller.pid), signal != SIGPIPE,
           upload.lock.withLock({ $0 != nil }) {
            logger.warning("incoming/\(name.display): its writer (pid \(caller.pid)) was ended by signal \(signal) while it held the file open; nothing is stored")
            _ = fail(upload, .failed("the writer was ended by signal \(signal)"))
            return
        }
        guard !name.isHidden else { return }
        if upload.lock.withLock({ ($0?.size ?? 0) == 0 }) { return }
        try commit(upload)
    }

    /// Abandons an upload for good: every later write and close of it fails with `failure`.
    /// A new file's name leaves incoming/ with it (a receipt that answered EIO would name
    /// nothing); a receipt being rewritten keeps its stored version.
    func fail(_ upload: Upload, _ failure: IncomingError) -> IncomingError {
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
                if state.children[node.stored.parent]?[node.name] == upload.node { state.children[node.stored.parent]![node.name] = nil }
                node.orphan = true
            }
            state.nodes[upload.node] = node
        }
        return first
    }

    /// Cuts or extends a file being written (`ftruncate`, `truncate -s`, `cp` of a file ending
    /// in a hole).
    public func truncate(_ upload: Upload, to size: Int64) throws(IncomingError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        do {
            try upload.lock.withLock { streaming in
                guard let streaming else { throw IncomingError.unsupported }
                if let quotas, size > streaming.size { try quotas.checkBytes(uid: upload.uid, writing: size) }
                try streaming.truncate(to: size)
            }
        } catch {
            let mapped = IncomingError.from(error)
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
    public func activeUpload(_ node: Int64) -> Upload? {
        guard let upload = state.withLock({ $0.nodes[node]?.upload }) else { return nil }
        return upload.lock.withLock { $0 != nil } ? upload : nil
    }

    func commit(_ upload: Upload) throws(IncomingError) {
        if let failure = upload.failure.withLock({ $0 }) { throw failure }
        let (isManifest, place) = state.withLock { state in
            (state.nodes[upload.node].map { FileFormat(inferredFrom: $0.name.display) == .vtm } ?? false,
             state.nodes[upload.node].map { ($0.stored.parent, $0.name) })
        }
        // A sidecar is checked (and given to its file if stored) before it is stored itself; a
        // file takes its stored sidecar's metadata with it into the catalog.
        let sidecarOf = place.flatMap { Self.sidecarTarget($0.1) }
        let sidecar = place.flatMap { sidecarOf == nil ? storedSidecar(parent: $0.0, of: $0.1) : nil }
        do {
            let committed = try upload.lock.withLock { streaming -> (LakeID, Receipt, ManifestLinks?)? in
                guard let pending = streaming else { return nil }
                if let sidecar {
                    do throws(InputError) { try pending.give(sidecar.metadata) } catch {
                        logger.error("the metadata of \(sidecar.name.display) does not go with \(place!.1.display): \(error.message)")
                    }
                }
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
                }, validating: sidecarOf.map { target in { file in try self.checkSidecar(file, givingTo: target, in: place!.0) } },
                   settler: settler, keepingSpoolName: true)
                upload.storedSpool.withLock { $0 = pending }
                return receipt.map { (pending.id, $0, links) }
            }
            if let (id, receipt, links) = committed {
                store.uploads.noteStored()
                quotas?.stored(uid: upload.uid, bytes: receipt.size)
                arrived(upload.node, object: id, receipt: receipt, links: links)
            }
        } catch {
            logger.error("upload through incoming/ failed: \(error)")
            throw fail(upload, IncomingError.from(error))
        }
    }

    /// The last close: a final-named file not yet committed (no flush came) is committed now;
    /// a failed upload's node goes.
    public func released(_ upload: Upload) {
        if let name = state.withLock({ $0.nodes[upload.node]?.name }), !name.isHidden { try? commit(upload) }
        if let stored = upload.storedSpool.withLock({ spool in defer { spool = nil }; return spool }),
           settler?.releaseLater(stored) != true {
            BlobSettler.finish(stored, logger: logger)
        }
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
    public func setAttributes(_ node: Int64, mode: UInt32?, uid: UInt32?, gid: UInt32?, modified: Int64?, accessed: Int64?) throws(IncomingError) {
        // Whether the file is still being written, asked outside the state's lock (see `released`).
        let writing = state.withLock { $0.nodes[node]?.upload }.map { upload in upload.lock.withLock { $0 != nil } } ?? false
        let changed = try state.withLock { state throws(IncomingError) -> Receipt? in
            guard var entry = state.nodes[node] else { throw .notFound }
            if let mode { entry.live.mode = mode & 0o7777 }
            if let uid { entry.live.uid = uid }
            if let gid { entry.live.gid = gid }
            if let modified { entry.live.modified = modified }
            if let accessed { entry.live.accessed = accessed }
            // A stored receipt or folder changes now; one being written changes when stored.
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
            do { try store.catalog.updateReceipt(changed) } catch { throw IncomingError.from(error) }
        }
    }

    // MARK: folders, removal, renames

    public func makeFolder(parent: Int64, name: FileName, mode: UInt32, caller: Caller) throws(IncomingError) -> Entry {
        guard !name.isEmpty, name.bytes.count <= 255 else { throw .invalidName }
        try state.withLock { state throws(IncomingError) in
            guard state.children[parent] != nil else { throw .notFound }
            guard state.children[parent]![name] == nil else { throw .exists }
        }
        let now = Self.nanoseconds()
        var receipt = Receipt(parent: parent, name: name.bytes, isFolder: true, mode: mode & 0o7777,
                              uid: caller.uid, gid: caller.gid, modified: now, accessed: now)
        do {
            receipt.node = try store.catalog.insertReceipt(receipt, replacing: nil)
        } catch {
            throw IncomingError.from(error)
        }
        let node = Node(stored: receipt, live: receipt)
        state.withLock { state in
            state.nodes[receipt.node] = node
            state.children[receipt.node] = [:]
            state.children[parent]![name] = receipt.node
        }
        return Self.entry(receipt.node, node)
    }

    public func remove(parent: Int64, name: FileName, folder: Bool) throws(IncomingError) {
        let id = try state.withLock { state throws(IncomingError) -> Int64 in
            guard let id = state.children[parent]?[name], let node = state.nodes[id] else { throw .notFound }
            if folder != node.isFolder { throw folder ? .notDirectory : .isDirectory }
            if folder && !(state.children[id]?.isEmpty ?? true) { throw .notEmpty }
            return id
        }
        do { try store.catalog.deleteReceipt(id) } catch { throw IncomingError.from(error) }
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

    /// Receipts whose objects left the lake (moved to the trash or purged, by the CLI or another
    /// mount; the catalog's rows went in the same transaction): their entries leave incoming/
    /// too. A receipt being written over stays (its new version will be a new object).
    public func dropReceipts(of ids: Set<LakeID>) -> [(parent: Int64, name: FileName)] {
        let objects = ids.filter { $0.kind == .object }
        guard !objects.isEmpty else { return [] }
        // Most are objects still in the lake (this mount's own uploads among them): one query for
        // the whole batch, and the receipts are walked only when an object has left (trashed,
        // purged, discarded). Walking them for every batch cost a daemon that had stored 100,000
        // files a scan of every receipt a few times a second while it stored more.
        guard let live = try? store.catalog.liveObjectIDs(among: Array(objects)) else { return [] }
        let left = objects.subtracting(live)
        guard !left.isEmpty else { return [] }
        let gone = state.withLock { state in
            state.nodes.compactMap { number, node -> (Int64, LakeID)? in
                guard !node.isFolder, !node.orphan, node.upload == nil, let object = node.stored.objectID, left.contains(object) else { return nil }
                return (number, object)
            }
        }
        guard !gone.isEmpty else { return [] }
        return state.withLock { state in
            gone.compactMap { number, object -> (parent: Int64, name: FileName)? in
                guard let node = state.nodes[number], node.upload == nil, node.stored.objectID == object else { return nil }
                let parent = node.stored.parent
                if state.children[parent]?[node.name] == number { state.children[parent]![node.name] = nil }
                Self.drop(number, in: &state)
                return (parent, node.name)
            }
        }
    }

    static func drop(_ id: Int64, in state: inout State) {
        state.nodes[id] = nil
        state.children[id] = nil
    }

    public func rename(parent: Int64, name: FileName, to newParent: Int64, newName: FileName) throws(IncomingError) {
        guard !newName.isEmpty, newName.bytes.count <= 255 else { throw .invalidName }
        let (id, replaced) = try state.withLock { state throws(IncomingError) -> (Int64, Int64?) in
            guard let id = state.children[parent]?[name], state.nodes[id] != nil else { throw .notFound }
            guard state.children[newParent] != nil else { throw .notFound }
            // A folder may not move below itself.
            var ancestor = newParent
            while ancestor != 0 {
                if ancestor == id { throw .invalidName }
                guard let up = state.nodes[ancestor] else { break }
                ancestor = up.stored.parent
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
            try store.catalog.moveReceipt(id, to: newParent, name: newName.bytes, replacing: replaced)
        } catch {
            throw IncomingError.from(error)
        }
        let upload = state.withLock { state -> Upload? in
            if let replaced { Self.drop(replaced, in: &state) }
            guard var node = state.nodes[id] else { return nil }
            if state.children[parent]?[name] == id { state.children[parent]![name] = nil }
            node.stored.parent = newParent
            node.stored.name = newName.bytes
            node.live.parent = newParent
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
                throw IncomingError.from(error)
            }
            try commit(upload)
        }
    }
}

/// Why an operation on `incoming/` failed, in the filesystem's terms (mapped to errno in LakeFS).
public enum IncomingError: Error, Equatable, Sendable {
    case notFound
    case exists
    case isDirectory
    case notDirectory
    case notEmpty
    /// An empty or too long name, or a folder moved below itself.
    case invalidName
    /// Not possible on a receipt (appending, changing it in place, truncating a stored one).
    case unsupported
    case noSpace
    /// The writer's account holds all its quota allows (`QuotaConfig`).
    case quotaExceeded(String)
    /// Metadata (a sidecar, a `user.lake.*` xattr) that does not parse.
    case invalidMetadata(String)
    /// Metadata refused by the set-once rules or by what uses the object.
    case metadataRefused(String)
    case failed(String)

    static func from(_ error: any Error) -> IncomingError {
        if let error = error as? IncomingError { return error }
        if let error = error as? QuotaExceeded { return .quotaExceeded(error.description) }
        if let error = error as? InputError { return .invalidMetadata(error.message) }
        if case CatalogError.refused(let reason) = error { return .metadataRefused(reason) }
        switch StoreFailure.kind(of: error) {
        case .noSpace: return .noSpace
        case .notFound: return .notFound
        case .other: return .failed("\(error)")
        }
    }
}
