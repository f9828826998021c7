#if canImport(Glibc)
import Glibc
#endif
import LakeCore
import LakeModel
import LakeSystem

/// Changes: only incoming/ accepts them; objects/, cases/ and datasets/ answer EROFS.
extension LakeFileSystem {
    public func create(parent: UInt64, name: FileName, mode: UInt32, caller: Caller) throws(FSError) -> (Entry, OpenPlan) {
        try incoming.create(parent: parent, name: name, mode: mode, caller: caller, handles: openFiles)
    }

    public func write(_ handle: UInt64, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FSError) {
        guard case .upload(let upload)? = openFiles.get(handle) else { throw .readOnly }
        do { try incoming.files.write(upload, bytes, at: offset) } catch { throw FSError.from(error) }
    }

    /// Every close(2) sends a flush: an upload is committed here so close() reports its outcome.
    public func flush(_ handle: UInt64, caller: Caller) throws(FSError) {
        // A read-only or dataset mount holds nothing a close could commit: told so (ENOSYS,
        // once), the kernel stops sending FLUSH.
        if !opensNeeded { throw .notNeeded }
        guard case .upload(let upload)? = openFiles.get(handle) else { return }
        do { try incoming.files.flush(upload, caller: caller) } catch { throw FSError.from(error) }
    }

    public func makeDirectory(parent: UInt64, name: FileName, mode: UInt32, caller: Caller) throws(FSError) -> Entry {
        try incoming.makeFolder(parent: parent, name: name, mode: mode, caller: caller)
    }

    public func unlink(parent: UInt64, name: FileName) throws(FSError) {
        try incoming.remove(parent: parent, name: name, folder: false)
    }

    public func removeDirectory(parent: UInt64, name: FileName) throws(FSError) {
        try incoming.remove(parent: parent, name: name, folder: true)
    }

    public func rename(parent: UInt64, name: FileName, to newParent: UInt64, newName: FileName) throws(FSError) {
        try incoming.rename(parent: parent, name: name, to: newParent, newName: newName)
    }

    /// setxattr and removexattr: the read-only trees answer EROFS; `incoming/` answers ENOTSUP, as
    /// a filesystem without extended attributes or ACLs does, so `cp -p` and `cp -a` fall back to
    /// the mode bits instead of failing.
    public func refuseXattrChange(_ node: UInt64, name: String) -> FSError {
        IncomingTree.owns(node) ? .namespaceUnsupported : .readOnly
    }

    /// setxattr: `user.lake.params|tags|annotations|geometry_units` on a file in `incoming/` give
    /// its object metadata (the core's rules: set once, EINVAL for what does not parse, EPERM for
    /// what the rules refuse); any other name is refused as `refuseXattrChange` says.
    public func setXattr(_ node: UInt64, name: String, value: [UInt8]) throws(FSError) {
        guard node >= NodeID.incomingBase, ObjectMetadata.xattrKeys[name] != nil else { throw refuseXattrChange(node, name: name) }
        try incoming.setMetadata(node, name: name, value: value)
    }

    /// What a setattr asks to change; nil leaves a value as it is. Times in nanoseconds.
    public struct AttributeChange: Sendable {
        public var size: Int64?
        public var mode: UInt32?
        public var uid: UInt32?
        public var gid: UInt32?
        public var modified: Int64?
        public var accessed: Int64?
        public init(size: Int64? = nil, mode: UInt32? = nil, uid: UInt32? = nil, gid: UInt32? = nil,
                    modified: Int64? = nil, accessed: Int64? = nil) {
            self.size = size
            self.mode = mode
            self.uid = uid
            self.gid = gid
            self.modified = modified
            self.accessed = accessed
        }
    }

    /// chmod, chown, utimens and truncate: kept on incoming/'s receipts and folders (so `cp -p`
    /// and `rsync -a` find what they set), refused with EROFS everywhere else. A size changes a
    /// file still being written (through `handle` when the kernel names one, else the node's open
    /// upload); a stored receipt keeps its size, so truncating it to another one is refused and
    /// changes nothing.
    public func setAttributes(_ node: UInt64, _ change: AttributeChange, handle: UInt64?, caller: Caller) throws(FSError) -> Attributes {
        if tree(node) is ObjectTree, let (seq, _) = NodeID.split(node) {
            return try changeOwnership(node, seq: seq, change, caller: caller)
        }
        guard IncomingTree.owns(node), node != NodeID.incoming else { throw .readOnly }
        if let size = change.size {
            var upload: IncomingFiles.Upload?
            if let handle, case .upload(let open)? = openFiles.get(handle) { upload = open }
            if let upload = upload ?? incoming.files.activeUpload(IncomingTree.row(node)) {
                do { try incoming.files.truncate(upload, to: size) } catch { throw FSError.from(error) }
            } else if size != (try attributes(node)).size {
                throw .unsupported
            }
        }
        if change.mode != nil || change.uid != nil || change.gid != nil || change.modified != nil || change.accessed != nil {
            try incoming.setAttributes(node, mode: change.mode, uid: change.uid, gid: change.gid,
                                       modified: change.modified, accessed: change.accessed)
        }
        return try attributes(node)
    }

    /// `chmod` and `chgrp` on an object's folder or anything in it change the object's mode and
    /// group (the kernel has checked that the caller owns it, or is root, and belongs to the new
    /// group). Its owner never changes (EPERM), nor do its bytes or times (EROFS).
    func changeOwnership(_ node: UInt64, seq: Int64, _ change: AttributeChange, caller: Caller) throws(FSError) -> Attributes {
        guard change.size == nil, change.modified == nil, change.accessed == nil else { throw .readOnly }
        let view = try view(seq: seq)
        if let uid = change.uid, uid != view.outline.owner.uid { throw .notPermitted }
        guard change.mode != nil || change.gid != nil else { return try attributes(node) }
        do {
            try store.changeAccess(view.outline.id, mode: change.mode, gid: change.gid, by: caller.uid)
        } catch {
            throw FSError.from(error)
        }
        // The next look at the object reads it again; the kernel is told by the change watcher.
        views.remove(seq)
        return try attributes(node)
    }
}
