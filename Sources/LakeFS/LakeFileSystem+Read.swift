#if canImport(Glibc)
import Glibc
#endif
import LakeSystem

extension LakeFileSystem {
    /// Where a read's bytes come from: a descriptor range (spliced by the kernel) or memory.
    public enum ReadReply: Sendable {
        case file(descriptor: Int32, offset: Int64, count: Int)
        case bytes([UInt8])
    }

    public func open(_ node: UInt64, flags: Int32) throws(FSError) -> UInt64 {
        if let (id, local) = treeNode(node) {
            if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 { throw .readOnly }
            return try treeOpen(id, local)
        }
        if let handle = try incoming.open(node, flags: flags, files: openFiles) { return handle }
        guard let (seq, local) = NodeID.split(node) else {
            throw node <= NodeID.datasets ? .isDirectory : .notFound
        }
        if flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0 { throw .readOnly }
        let view = try view(seq: seq)
        switch view.nodes[local]?.content {
        case .blob(let id, _)?:
            do {
                let file = try openFiles.blob(id) { try store.blobs.open(id) }
                return openFiles.add(.blob(file))
            } catch {
                throw FSError.from(error)
            }
        case .json?:
            return openFiles.add(.bytes(view.json.bytes))
        case .folder?:
            throw .isDirectory
        case nil:
            throw .notFound
        }
    }

    /// The descriptor whose bytes are exactly what `handle` of `node` reads, now and for
    /// good (a stored blob under objects/ or a settled tree), so the kernel may read it without
    /// asking; nil for bytes from memory, uploads and receipts (a receipt can be rewritten).
    public func backingDescriptor(_ handle: UInt64, node: UInt64) -> Int32? {
        guard !IncomingArea.owns(node), contentIsStable(node), case .blob(let file)? = openFiles.get(handle) else { return nil }
        return file.descriptor
    }

    public func read(_ handle: UInt64, offset: Int64, count: Int) throws(FSError) -> ReadReply {
        switch openFiles.get(handle) {
        case .blob(let file)?:
            let available = max(0, min(Int64(count), file.size - offset))
            return .file(descriptor: file.descriptor, offset: offset, count: Int(available))
        case .bytes(let bytes)?:
            guard offset < bytes.count else { return .bytes([]) }
            let end = min(bytes.count, Int(offset) + count)
            return .bytes(Array(bytes[Int(offset)..<end]))
        case .upload(let upload)?:
            return try upload.read(offset: offset, count: count)
        case nil:
            throw .invalid
        }
    }

    /// The last close of a handle; an incoming upload is committed here (see IncomingArea).
    public func release(_ handle: UInt64) {
        if case .upload(let upload)? = openFiles.remove(handle) { incoming.released(upload) }
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
        if let (id, local) = treeNode(node) { return try treeXattrs(id, local) }
        if let values = incoming.xattrs(node) { return values }
        guard let (seq, local) = NodeID.split(node) else { return [:] }
        let view = try view(seq: seq)
        guard let entity = view.nodes[local]?.entity else { throw .notFound }
        return view.xattrs[entity].value
    }
}
