#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LakeSystem

/// Whole-file writes that are all or nothing: temp file, fsync, rename, fsync the folder.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        let temporary = path + ".tmp-\(getpid())"
        do {
            let fd = try Syscall.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
            defer { Syscall.close(fd) }
            try data.withUnsafeBytes { try Syscall.writeAll(fd, $0, path: temporary) }
            try Syscall.fsync(fd, path: temporary)
        } catch {
            try? Syscall.unlinkIfPresent(temporary)
            throw error
        }
        do {
            try Syscall.rename(temporary, path)
            try Syscall.fsyncDirectory(Path.parent(of: path))
        } catch {
            try? Syscall.unlinkIfPresent(temporary)
            throw error
        }
    }
}
