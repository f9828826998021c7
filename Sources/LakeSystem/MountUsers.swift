#if canImport(Glibc)
import Glibc
#endif

/// The processes keeping a mount busy (what `fuser -m` finds): a working or root directory,
/// an open file or a mapped file inside it. Found from /proc links, which name paths without
/// asking the mounted filesystem anything.
public enum MountUsers {
    public struct User: Sendable, Equatable {
        public var pid: Int32
        public var command: String
        /// What holds the mount: "working directory", "open file PATH", …
        public var holds: String
    }

    public static func of(_ mountpoint: String) -> [User] {
        let inside = { (path: String) in path == mountpoint || path.hasPrefix(mountpoint.hasSuffix("/") ? mountpoint : mountpoint + "/") }
        var users: [User] = []
        let me = getpid()
        for entry in (try? Syscall.listDirectory("/proc")) ?? [] {
            guard let pid = Int32(entry), pid != me else { continue }
            let command = (try? String(decoding: readFile("/proc/\(pid)/comm"), as: UTF8.self))?
                .trimmingCharacters(in: "\n") ?? "?"
            var holds: String?
            if let cwd = link("/proc/\(pid)/cwd"), inside(cwd) { holds = "working directory \(cwd)" }
            if holds == nil, let root = link("/proc/\(pid)/root"), root != "/", inside(root) { holds = "root directory \(root)" }
            if holds == nil {
                for fd in (try? Syscall.listDirectory("/proc/\(pid)/fd")) ?? [] {
                    if let target = link("/proc/\(pid)/fd/\(fd)"), inside(target) { holds = "open file \(target)"; break }
                }
            }
            if let holds { users.append(User(pid: pid, command: command, holds: holds)) }
        }
        return users.sorted { $0.pid < $1.pid }
    }

    static func link(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let n = readlink(path, &buffer, 4096)
        guard n > 0 else { return nil }
        return String(nulTerminated: Array(buffer[..<n]))
    }

    static func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path: path, errno: errno) }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? Array(buffer[..<n]) : []
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var slice = Substring(self)
        while let c = slice.last, set.contains(c) { slice.removeLast() }
        return String(slice)
    }
}
