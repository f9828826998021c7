#if canImport(Glibc)
import Glibc
#endif

/// Changes: only incoming/ accepts them; objects/, cases/ and datasets/ answer EROFS.
extension LakeFileSystem {
    public func create(parent: UInt64, name: String, uid: UInt32) throws(FSError) -> (Entry, UInt64) {
        try incoming.create(parent: parent, name: name, uid: uid, files: openFiles)
    }

    /// A file the kernel may write a new upload into by itself instead of sending its writes
    /// (FUSE passthrough); see KernelSpool. `dropUploadSpool` undoes it if the kernel declines.
    public func uploadSpool(_ handle: UInt64) -> Int32? {
        guard case .upload(let upload)? = openFiles.get(handle) else { return nil }
        return incoming.kernelSpool(for: upload)
    }

    public func dropUploadSpool(_ handle: UInt64) {
        guard case .upload(let upload)? = openFiles.get(handle) else { return }
        incoming.dropKernelSpool(upload)
    }

    public func write(_ handle: UInt64, _ bytes: UnsafeRawBufferPointer, at offset: Int64) throws(FSError) {
        guard case .upload(let upload)? = openFiles.get(handle) else { throw .readOnly }
        try incoming.write(upload, bytes, at: offset)
    }

    /// Every close(2) sends a flush: an upload is committed here so close() reports its outcome.
    public func flush(_ handle: UInt64) throws(FSError) {
        guard case .upload(let upload)? = openFiles.get(handle) else { return }
        try incoming.flush(upload)
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
    /// refused with EROFS everywhere else. Truncation to the current size is the only one allowed.
    public func setAttributes(_ node: UInt64, size: Int64?) throws(FSError) -> Attributes {
        guard IncomingArea.owns(node), node != NodeID.incoming else { throw .readOnly }
        let current = try attributes(node)
        if let size, size != current.size { throw .unsupported }
        return current
    }

    /// Anything else that would change the read-only trees.
    public func refuseChange() -> FSError { .readOnly }
}
