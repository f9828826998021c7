#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one place where libc calls are made: EINTR is retried here and failures become
/// `SystemError` values carrying the operation and path.
public enum Syscall {
    @inline(__always)
    static func retrying<T: BinaryInteger>(_ operation: String, _ path: String, _ call: () -> T) throws -> T {
        while true {
            let result = call()
            if result >= 0 { return result }
            let code = Glibc.errno
            if code == EINTR { continue }
            throw SystemError(operation, path: path, errno: code)
        }
    }

    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32 {
        try retrying("open", path) { Glibc.open(path, flags | O_CLOEXEC, mode) }
    }

    /// `open` of a path given as bytes (a name that is not UTF-8); `display` names it in errors.
    public static func open(bytes path: [UInt8], display: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32 {
        try FileName(bytes: path).withCString { cPath in
            try retrying("open", display) { Glibc.open(cPath, flags | O_CLOEXEC, mode) }
        }
    }

    /// A new file without a name in `folder` (O_TMPFILE), open for reading and writing: it
    /// disappears with its last descriptor, so a crash leaves nothing behind.
    public static func openUnnamed(in folder: String) throws -> Int32 {
        try retrying("open O_TMPFILE", folder) { Glibc.open(folder, unnamedFile | O_RDWR | O_CLOEXEC, 0o600) }
    }

    /// O_TMPFILE, a macro Swift does not import (the same value on x86_64 and arm64).
    private static let unnamedFile: Int32 = 0o20000000 | O_DIRECTORY

    /// Opens `path` again for direct I/O (O_DIRECT: no page cache; buffers, offsets and sizes
    /// aligned to 4 KiB), or nil where the filesystem does not offer it.
    public static func openDirect(_ path: String, _ flags: Int32) -> Int32? {
        #if arch(x86_64)
        let direct: Int32 = 0o40000
        #elseif arch(arm64)
        let direct: Int32 = 0o200000
        #else
        return nil
        #endif
        let fd = Glibc.open(path, flags | direct | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }

    public static func duplicate(_ fd: Int32, path: String) throws -> Int32 {
        try retrying("dup", path) { fcntl(fd, F_DUPFD_CLOEXEC, 0) }
    }

    public static func close(_ fd: Int32) {
        // Retrying close on EINTR is wrong on Linux: the descriptor is already released.
        _ = Glibc.close(fd)
    }

    public static func pread(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, offset: Int64, path: String) throws -> Int {
        try retrying("read", path) { Glibc.pread(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Writes the whole buffer, looping over short writes.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < buffer.count {
            let n = try retrying("write", path) { Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done) }
            done += n
        }
    }

    public static func pwrite(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int64, path: String) throws -> Int {
        try retrying("write", path) { Glibc.pwrite(fd, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    public static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, offset: Int64, path: String) throws {
        var done = 0
        while done < buffer.count {
            done += try pwrite(fd, UnsafeRawBufferPointer(rebasing: buffer[done...]), offset: offset + Int64(done), path: path)
        }
    }

    public static func truncate(_ fd: Int32, to size: Int64, path: String) throws {
        _ = try retrying("ftruncate", path) { ftruncate(fd, off_t(size)) }
    }

    public static func fsync(_ fd: Int32, path: String) throws {
        _ = try retrying("fsync", path) { Glibc.fsync(fd) }
    }

    /// Makes a file's bytes durable, and what finding them needs (its size and blocks), not its times.
    public static func fdatasync(_ fd: Int32, path: String) throws {
        _ = try retrying("fdatasync", path) { Glibc.fdatasync(fd) }
    }

    /// Starts writing a range's dirty pages to the disk without waiting for them (a later
    /// fdatasync then waits only for what is still in flight). Advice only: a failure is the
    /// later fdatasync's to report.
    public static func startWriteback(_ fd: Int32, offset: Int64, count: Int64) {
        _ = syncFileRange?(fd, offset, count, 2)  // SYNC_FILE_RANGE_WRITE
    }

    /// Asks the disk for a range of a file's bytes now, without waiting for them (they land in
    /// the page cache for a read to come). Advice only: a failure changes nothing but speed.
    public static func adviseWillNeed(_ fd: Int32, offset: Int64, count: Int64) {
        _ = posix_fadvise(fd, off_t(offset), off_t(count), POSIX_FADV_WILLNEED)
    }

    /// glibc's `sync_file_range`, which Swift's Glibc module leaves out (it is declared only
    /// under _GNU_SOURCE): found by name once, as every glibc since 2.6 has it.
    private static let syncFileRange: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int64, Int64, UInt32) -> Int32).self)
    }()

    /// fsyncs a directory so that a rename or unlink inside it is durable.
    public static func fsyncDirectory(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// Writes out everything dirty on the filesystem holding `path` (data and metadata of every
    /// file), as `sync` does for one filesystem.
    public static func syncFilesystem(_ path: String) throws {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        _ = try retrying("syncfs", path) { GNUFunctions.syncfs(fd) }
    }

    /// A second name for a file; false when `to` exists already.
    public static func link(_ from: String, _ to: String) throws -> Bool {
        while true {
            if Glibc.link(from, to) == 0 { return true }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EEXIST { return false }
            throw SystemError("link", path: to, errno: code)
        }
    }

    public static func rename(_ from: String, _ to: String) throws {
        _ = try retrying("rename", from) { Glibc.rename(from, to) }
    }

    /// The path with symbolic links, `.` and `..` resolved; the path itself when it cannot be
    /// resolved (it does not exist, or a folder on the way is not searchable).
    public static func canonicalPath(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Removes a file; a missing file is not an error.
    public static func unlinkIfPresent(_ path: String) throws {
        if Glibc.unlink(path) != 0 && Glibc.errno != ENOENT {
            throw SystemError("unlink", path: path, errno: Glibc.errno)
        }
    }

    public static func fileStatus(_ fd: Int32, path: String) throws -> stat {
        var info = Glibc.stat()
        _ = try retrying("stat", path) { fstat(fd, &info) }
        return info
    }

    /// Whether the file open as `fd` has lost its last name (it is freed at its last close). False
    /// when it cannot be asked.
    public static func isUnlinked(_ fd: Int32) -> Bool {
        var info = Glibc.stat()
        return fstat(fd, &info) == 0 && info.st_nlink == 0
    }

    /// `stat` of a path, or nil when nothing is there.
    public static func fileStatus(_ path: String) throws -> stat? {
        var info = Glibc.stat()
        if stat(path, &info) == 0 { return info }
        if Glibc.errno == ENOENT || Glibc.errno == ENOTDIR { return nil }
        throw SystemError("stat", path: path, errno: Glibc.errno)
    }

    public static func chmod(_ path: String, _ mode: mode_t) throws {
        _ = try retrying("chmod", path) { Glibc.chmod(path, mode) }
    }

    public static func chmod(_ fd: Int32, _ mode: mode_t, path: String) throws {
        _ = try retrying("fchmod", path) { Glibc.fchmod(fd, mode) }
    }

    /// Creates a directory and its parents; an existing directory is fine.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        if let info = try fileStatus(path) {
            if (info.st_mode & S_IFMT) == S_IFDIR { return }
            throw SystemError("mkdir", path: path, errno: ENOTDIR)
        }
        let parent = Path.parent(of: path)
        if parent != path && !parent.isEmpty { try makeDirectories(parent, mode: mode) }
        if Glibc.mkdir(path, mode) != 0 && Glibc.errno != EEXIST {
            throw SystemError("mkdir", path: path, errno: Glibc.errno)
        }
    }

    /// Non-blocking exclusive or shared `flock`; returns false when another holder has it.
    public static func tryLock(_ fd: Int32, exclusive: Bool, path: String) throws -> Bool {
        let op = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB
        while true {
            if systemFlock(fd, op) == 0 { return true }
            let code = Glibc.errno
            if code == EINTR { continue }
            if code == EWOULDBLOCK { return false }
            throw SystemError("flock", path: path, errno: code)
        }
    }

    /// Blocking `flock`.
    public static func lock(_ fd: Int32, exclusive: Bool, path: String) throws {
        _ = try retrying("flock", path) { systemFlock(fd, exclusive ? LOCK_EX : LOCK_SH) }
    }

    public static func unlock(_ fd: Int32) {
        _ = systemFlock(fd, LOCK_UN)
    }

    /// Names in a directory, without "." and "..".
    public static func listDirectory(_ path: String) throws -> [String] {
        guard let dir = Glibc.opendir(path) else {
            throw SystemError("opendir", path: path, errno: Glibc.errno)
        }
        defer { Glibc.closedir(dir) }
        var names: [String] = []
        while let entry = Glibc.readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func isDirectory(_ path: String) -> Bool {
        guard let info = try? fileStatus(path) else { return false }
        return (info.st_mode & S_IFMT) == S_IFDIR
    }
}

// Glibc's `flock` function is shadowed by its `struct flock` in Swift; bind the function by name.
@_silgen_name("flock")
private func systemFlock(_ fd: Int32, _ operation: Int32) -> Int32

extension Syscall {
    /// The filesystem holding `path`: sizes and counts, as `df` shows them.
    public static func fileSystemStatus(_ path: String) throws -> Glibc.statvfs {
        var info = Glibc.statvfs()
        guard systemStatvfs(path, &info) == 0 else { throw SystemError("statvfs", path: path, errno: errno) }
        return info
    }
}

// Glibc's `statvfs` function is shadowed by its struct of the same name in Swift.
@_silgen_name("statvfs")
private func systemStatvfs(_ path: UnsafePointer<CChar>, _ info: UnsafeMutablePointer<Glibc.statvfs>) -> Int32

extension Syscall {
    /// The descriptors this process may hold (RLIMIT_NOFILE's soft limit).
    public static func descriptorLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft descriptor limit to the hard one. The soft default of 1024 (systemd's,
    /// kept for programs that still use select(2)) would cap a mount daemon's kept descriptors
    /// and passthrough opens; Lake never calls select.
    public static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
