import CFuse3
import CFuseRing
import Glibc
import LakeFS
import LakeSystem

/// One FUSE request, answered exactly once: every reply consumes it, and a request dropped
/// without a reply answers EIO rather than leaving the caller hanging.
struct Request: ~Copyable {
    let raw: fuse_req_t

    init(_ raw: fuse_req_t) { self.raw = raw }

    deinit { fuse_reply_err(raw, EIO) }

    consuming func fail(_ error: FSError) {
        // EIO is the one answer whose reason the caller cannot be told: the log keeps it.
        if case .io(let reason) = error { FuseMount.from(raw).logger.warning("answered EIO: \(reason)") }
        fuse_reply_err(raw, error.errno)
        discard self
    }

    consuming func ok() {
        fuse_reply_err(raw, 0)
        discard self
    }

    /// A symbolic link's target.
    consuming func link(_ target: String) {
        _ = target.withCString { fuse_reply_readlink(raw, $0) }
        discard self
    }

    consuming func none() {
        fuse_reply_none(raw)
        discard self
    }

    consuming func entry(_ entry: Entry) {
        var parameters = Stat.entry(entry)
        fuse_reply_entry(raw, &parameters)
        discard self
    }

    /// A negative entry: the kernel remembers that the name does not exist for `timeout` seconds.
    consuming func negative(timeout: Double) {
        var parameters = fuse_entry_param()
        parameters.ino = 0
        parameters.entry_timeout = timeout
        fuse_reply_entry(raw, &parameters)
        discard self
    }

    consuming func attributes(_ attributes: Attributes, timeout: Double) {
        var info = Stat.make(attributes)
        fuse_reply_attr(raw, &info, timeout)
        discard self
    }

    /// Who sent the request.
    var caller: Caller {
        let context = fuse_req_ctx(raw).pointee
        return Caller(uid: context.uid, gid: context.gid, pid: context.pid)
    }

    consuming func open(handle: UInt64, keepCache: Bool, cacheDirectory: Bool = false) {
        var info = fuse_file_info()
        info.fh = handle
        info.keep_cache = keepCache ? 1 : 0
        info.cache_readdir = cacheDirectory ? 1 : 0
        fuse_reply_open(raw, &info)
        discard self
    }

    consuming func open(handle: UInt64, caching: OpenPlan.Caching, flush: Bool) {
        var info = Self.fileInfo(handle, caching)
        info.noflush = flush ? 0 : 1
        fuse_reply_open(raw, &info)
        discard self
    }

    static func fileInfo(_ handle: UInt64, _ caching: OpenPlan.Caching) -> fuse_file_info {
        var info = fuse_file_info()
        info.fh = handle
        info.keep_cache = caching == .keep ? 1 : 0
        info.direct_io = caching == .direct ? 1 : 0
        return info
    }

    /// An open whose reads the kernel serves from a registered backing file.
    consuming func open(handle: UInt64, backing: Int32, flush: Bool) {
        lake_reply_open_passthrough(raw, handle, backing, flush ? 0 : 1)
        discard self
    }

    consuming func created(_ entry: Entry, handle: UInt64, caching: OpenPlan.Caching) {
        var parameters = Stat.entry(entry)
        var info = Self.fileInfo(handle, caching)
        fuse_reply_create(raw, &parameters, &info)
        discard self
    }

    consuming func bytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = fuse_reply_buf(raw, $0.baseAddress, $0.count) }
        }
        discard self
    }

    /// Replies with a range of a file descriptor: spliced on /dev/fuse, read straight into the
    /// ring buffer on io_uring; never copied through Swift.
    consuming func file(descriptor: Int32, offset: Int64, count: Int) {
        lake_transport_reply_fd(raw, descriptor, off_t(offset), count)
        discard self
    }

    consuming func written(_ count: Int) {
        fuse_reply_write(raw, count)
        discard self
    }

    consuming func xattrSize(_ size: Int) {
        fuse_reply_xattr(raw, size)
        discard self
    }

    consuming func statfs(_ info: Glibc.statvfs) {
        var info = info
        fuse_reply_statfs(raw, &info)
        discard self
    }

    consuming func buffer(_ buffer: UnsafeRawBufferPointer) {
        _ = fuse_reply_buf(raw, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
        discard self
    }
}

/// `struct stat` and `fuse_entry_param` from Lake's attributes.
enum Stat {
    static func make(_ a: Attributes) -> stat {
        var info = stat()
        info.st_ino = __ino_t(a.node)
        info.st_mode = (a.kind == .directory ? S_IFDIR : a.kind == .symlink ? S_IFLNK : S_IFREG) | mode_t(a.mode)
        info.st_nlink = nlink_t(a.links)
        info.st_size = off_t(a.size)
        info.st_blocks = blkcnt_t((a.size + 511) / 512)
        info.st_blksize = 1 << 20
        info.st_uid = a.uid
        info.st_gid = a.gid
        func time(_ nanoseconds: Int64) -> timespec {
            let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds - 999_999_999) / 1_000_000_000
            return timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds - seconds * 1_000_000_000))
        }
        let modified = time(a.exactModified ?? a.modified.microseconds * 1000)
        info.st_mtim = modified
        info.st_ctim = modified
        info.st_atim = a.exactAccessed.map(time) ?? modified
        return info
    }

    static func entry(_ entry: Entry) -> fuse_entry_param {
        var parameters = fuse_entry_param()
        parameters.ino = entry.node
        parameters.generation = 1
        parameters.attr = make(entry.attributes)
        parameters.attr_timeout = entry.attributeTimeout
        parameters.entry_timeout = entry.timeout
        return parameters
    }
}
