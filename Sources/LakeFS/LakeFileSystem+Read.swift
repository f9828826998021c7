#if canImport(Glibc)
import Glibc
#endif
import LakeCore
import LakeModel
import LakeSystem

extension LakeFileSystem {
    /// Where a read's bytes come from: a descriptor range (spliced by the kernel), a stored
    /// file's bytes read and checked here (`SequentialHash`), or memory.
    public enum ReadReply: Sendable {
        case file(descriptor: Int32, offset: Int64, count: Int)
        case checkedBytes([UInt8])
        case bytes([UInt8])
    }

    /// A mount that needs no opens (`opensNeeded`: a read-only or dataset mount) says so
    /// (ENOSYS, once): the kernel then keeps every file's pages between opens, and a training
    /// loader's epochs after the first read from the page cache without a round trip
    /// (`read(node:…)`); what changes is dropped from its cache when the catalog says so.
    public func open(_ node: UInt64, flags: Int32, caller: Caller) throws(FSError) -> OpenPlan {
        if !opensNeeded {
            if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 { throw .readOnly }
            throw .notNeeded
        }
        let tree = tree(node)
        let plan = try tree.open(node, flags: flags, caller: caller)
        readingStarted(node, in: tree)
        return plan
    }

    /// A stored file was opened (or first read, where opens are not needed): `ReadAhead` is told
    /// where it stands in its tree's reading orders.
    func readingStarted(_ node: UInt64, in tree: any FileTree) {
        for (order, position) in tree.readingOrders(node) { readAhead.opened(order, at: position) }
    }

    /// A read that came without an OPEN: served from a handle kept for the inode
    /// (`NodeHandles`) when the node's bytes never change (a stored blob, a settled object's or
    /// tree's file), else from one opened for this read alone, so a draft's `case.json` read
    /// after a change is read anew. A blob found damaged since its handle was opened is not read.
    public func read(node: UInt64, offset: Int64, count: Int, caller: Caller) throws(FSError) -> ReadReply {
        guard !opensNeeded else { throw .invalid }
        try refuseDamagedPages(node, at: offset)
        let (handle, kept) = try nodeHandles.handle(for: node, open: { () throws(FSError) in
            let tree = tree(node)
            let plan = try tree.open(node, flags: O_RDONLY, caller: caller)
            readingStarted(node, in: tree)
            return (plan.handle, plan.caching == .keep)
        }, close: { openFiles.remove($0) })
        defer { if !kept { openFiles.remove(handle) } }
        let source = openFiles.get(handle)
        if case .blob(_, let check)? = source, blobGuard.isDamaged(check.blob) {
            throw .io("blob \(check.blob) is damaged")
        }
        do {
            return try read(source, offset: offset, count: count)
        } catch {
            if case .damaged = error {
                damagedPages.add(node)
                // The inode's kept handle read a damaged copy: its next read opens the blob
                // again — fetched anew if the copy was dropped (a bucket's cached copy, one a
                // store's daemon handed over), refused if the damage was recorded.
                if kept, let dropped = nodeHandles.forget(node) { openFiles.remove(dropped) }
            }
            throw error
        }
    }

    /// Reads of an inode whose pages may hold a damaged copy's bytes fail (see `DamagedPages`).
    private func refuseDamagedPages(_ node: UInt64?, at offset: Int64) throws(FSError) {
        if let node, !damagedPages.admits(node, at: offset) {
            throw .io("a copy of this file read damaged; open it again to read it from the start")
        }
    }

    /// Whether OPENDIR is needed: where opens are not (`opensNeeded`), told so (ENOSYS, once),
    /// the kernel stops sending OPENDIR and RELEASEDIR (two round trips per folder `find` walks)
    /// and keeps every listing until told it changed; its READDIRs then come without a handle.
    public func openDirectory(_ node: UInt64) throws(FSError) {
        if !opensNeeded { throw .notNeeded }
    }

    /// The kernel forgot an inode: a handle kept for it goes.
    public func forget(_ node: UInt64) {
        if let handle = nodeHandles.forget(node) { openFiles.remove(handle) }
    }

    /// How a handle of objects/, cases/ or datasets/ is served: a stored blob of a settled
    /// object or tree is read by the kernel from the blob itself; settled bytes from memory stay
    /// in the page cache; the rest is asked again on each open.
    func plan(_ handle: UInt64, stable: Bool) -> OpenPlan {
        if stable, case .blob(let file, _)? = openFiles.get(handle) {
            return OpenPlan(handle: handle, backing: file.descriptor, caching: .keep, needsFlush: false)
        }
        return OpenPlan(handle: handle, caching: stable ? .keep : .revalidate, needsFlush: false)
    }

    /// A read of an open handle; `node` is its inode, whose pages go if the read finds damage.
    public func read(_ handle: UInt64, node: UInt64? = nil, offset: Int64, count: Int) throws(FSError) -> ReadReply {
        try refuseDamagedPages(node, at: offset)
        do {
            return try read(openFiles.get(handle), offset: offset, count: count)
        } catch {
            if case .damaged = error, let node { damagedPages.add(node) }
            throw error
        }
    }

    func read(_ source: OpenFiles.Source?, offset: Int64, count: Int) throws(FSError) -> ReadReply {
        switch source {
        case .blob(let file, let check)?:
            let available = max(0, min(Int64(count), file.size - offset))
            // A small file read ahead and checked (`VerifiedBlobs`: only where the daemon serves
            // reads, so a read-write mount's reads skip the lookup).
            if !opensNeeded, let bytes = verifiedBlobs.bytes(check.blob, at: offset, count: Int(available)) { return .checkedBytes(bytes) }
            // A reader going through the blob in order from the start is given bytes read here,
            // re-hashed on the way: the read that reaches the end fails with EIO if they were not
            // the blob's, and the damage is recorded (see BlobGuard). Other reads are spliced.
            guard check.wants(offset, count: Int(available)) else { return .file(descriptor: file.descriptor, offset: offset, count: Int(available)) }
            let bytes = try readBytes(file, at: offset, count: Int(available))
            // This read overtook the one before it (the kernel sends several at once): the bytes
            // between are read and hashed here, and that read finds them hashed when it comes.
            if let gap = check.gap(before: offset) {
                try damaged(check, check.feed(readBytes(file, at: gap.lowerBound, count: Int(gap.count)), at: gap.lowerBound))
            }
            try damaged(check, check.feed(bytes, at: offset))
            return .checkedBytes(bytes)
        case .bytes(let bytes)?:
            guard offset < bytes.count else { return .bytes([]) }
            let end = min(bytes.count, Int(offset) + count)
            return .bytes(Array(bytes[Int(offset)..<end]))
        case .upload?:
            throw .io("the file is still being uploaded")
        case nil:
            throw .invalid
        }
    }

    private func readBytes(_ file: ReadableFile, at offset: Int64, count: Int) throws(FSError) -> [UInt8] {
        do { return try file.bytes(at: offset, count: count) } catch { throw FSError.from(error) }
    }

    /// Damage a re-hash found: recorded (see BlobGuard), and the read fails.
    private func damaged(_ check: SequentialHash, _ outcome: SequentialHash.Outcome) throws(FSError) {
        guard case .corrupt(let actual) = outcome else { return }
        blobGuard.recordCorrupt(check.blob, hashingTo: actual, foundBy: "read")
        throw .damaged("blob \(check.blob) is damaged")
    }

    /// The last close of a handle; an incoming upload is committed here (see `IncomingFiles`).
    public func release(_ handle: UInt64) {
        if case .upload(let upload)? = openFiles.remove(handle) { incoming.files.released(upload) }
    }

    // MARK: extended attributes

    public func xattr(_ node: UInt64, name: String) throws(FSError) -> [UInt8] {
        // Answered at once, without a catalog query. The lake holds no security labels or ACLs:
        // "not supported" (rather than "no such attribute") lets ls and cp stop asking for them
        // after the first file, which saves a round trip per file on `ls -l`.
        guard name.hasPrefix("user.") else { throw .namespaceUnsupported }
        guard name.hasPrefix("user.lake.") else { throw .noAttribute }
        guard let value = try xattrs(node)[name] else { throw .noAttribute }
        return value
    }

    public func xattrNames(_ node: UInt64) throws(FSError) -> [String] {
        Xattrs.names(try xattrs(node))
    }

    func xattrs(_ node: UInt64) throws(FSError) -> [String: [UInt8]] {
        try tree(node).xattrs(node)
    }
}
