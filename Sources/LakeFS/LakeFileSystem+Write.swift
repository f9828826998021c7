#if canImport(Glibc)
import Glibc
#endif

/// Changes: only incoming/ accepts them; objects/, cases/ and datasets/ answer EROFS.
extension LakeFileSystem {
    public func create(parent: UInt64, name: String, uid: UInt32) throws(FSError) -> (Entry, OpenPlan) {
        try incoming.create(parent: parent, name: name, uid: uid, files: openFiles)
    }

    public func write(_ handle: UInt64, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FSError) {
        guard case .upload(let upload)? = openFiles.get(handle) else { throw .readOnly }
        try incoming.write(upload, bytes, at: offset)
    }

    /// Every close(2) sends a flush: an upload is committed here so close() reports its outcome.
    public func flush(_ handle: UInt64, caller: Caller) throws(FSError) {
        guard case .upload(let upload)? = openFiles.get(handle) else { return }
        try incoming.flush(upload, caller: caller)
    }

    public func makeDirectory(parent: UInt64, name: String, uid: UInt32) throws(FSError) -> Entry {
        try incoming.makeFolder(parent: parent, name: name, uid: uid)
    }

    public func unlink(parent: UInt64, name: String) throws(FSError) {
        try incoming.remove(parent: parent, name: name, folder: false)
    }

    public func removeDirectory(parent: UInt64, name: String) throws(FSError) {
        try incoming.remove(parent: parent, name: name, folder: true)
    }

    public func rename(parent: UInt64, name: String, to newParent: UInt64, newName: String) throws(FSError) {
        try incoming.rename(parent: parent, name: name, to: newParent, newName: newName)
    }

    /// chmod, chown, utimens and truncate: accepted (and ignored) in incoming/ so `cp -p` works,
    /// refused with EROFS everywhere else. A size changes a file still being written (through
    /// `handle` when the kernel names one, else the node's open upload); a stored receipt keeps
    /// its size, so truncating it to another one is refused and changes nothing.
    public func setAttributes(_ node: UInt64, size: Int64?, handle: UInt64?) throws(FSError) -> Attributes {
        guard IncomingArea.owns(node), node != NodeID.incoming else { throw .readOnly }
        if let size {
            var upload: IncomingArea.Upload?
            if let handle, case .upload(let open)? = openFiles.get(handle) { upload = open }
            if let upload = upload ?? incoming.activeUpload(node) {
                try incoming.truncate(upload, to: size)
            } else if size != (try attributes(node)).size {
                throw .unsupported
            }
        }
        return try attributes(node)
    }
}
