#if canImport(Glibc)
import Glibc
#endif
import LakeSystem

/// A file the kernel writes an upload into by itself (FUSE passthrough) instead of sending
/// each write to the daemon. It has no name, so a crash leaves nothing behind. At commit its
/// bytes are streamed into the blob store and hashed on the way: the stored blob is another
/// file, so bytes written later through a descriptor still open can never change it.
///
/// The daemon never learns of a write the kernel failed (a full disk): the spool keeps its space
/// until the commit's copy is done, so on a full disk the copy fails too and the close reports
/// it, instead of storing the part that fitted.
final class KernelSpool: Sendable {
    let descriptor: Int32

    init(in folder: String) throws {
        descriptor = try Syscall.openUnnamed(in: folder)
    }

    deinit { Syscall.close(descriptor) }

    /// Size and modification time: whether anything was written since an earlier look.
    struct Stamp: Equatable, Sendable {
        var size: Int64
        var modified: Int64
    }

    var stamp: Stamp {
        guard let info = try? Syscall.fileStatus(descriptor, path: "upload spool") else { return Stamp(size: 0, modified: 0) }
        return Stamp(size: Int64(info.st_size), modified: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    func contents(name: String) throws -> ReadableFile {
        try ReadableFile(duplicating: descriptor, path: "incoming/\(name) (spool)")
    }

    /// Gives the spool's space back now (the kernel keeps the empty file open until the last close).
    func empty() {
        try? Syscall.truncate(descriptor, to: 0, path: "upload spool")
    }
}
