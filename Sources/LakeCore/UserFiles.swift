#if canImport(Glibc)
import Glibc
#endif
import LakeSystem
import Synchronization

/// The files of the account a command acts for (what `lake upload` reads, where `lake object
/// get` writes). A command run by that account opens them itself. A session's child (root,
/// acting for another account: `SessionProtocol`) asks the client to open them, so the kernel
/// checks that account's own rights, in its own working folder, and nothing root could open
/// beyond them is ever read or written.
public enum UserFiles {
    /// The connection to the session's client; nil outside a session.
    private static let client = Mutex<Int32?>(nil)

    /// From now on files are opened by the session's client at the other end of `connection`.
    public static func openThroughSession(_ connection: Int32) {
        client.withLock { $0 = connection }
    }

    public static var inSession: Bool { client.withLock { $0 != nil } }

    /// The connection to the session's client (for `lake dataset serve`); nil outside a session.
    public static var sessionConnection: Int32? { client.withLock { $0 } }

    public static func openForReading(_ path: String) throws -> ReadableFile {
        guard let fd = try ask(.init(operation: .open, path: path, flags: O_RDONLY)).descriptor else {
            return try ReadableFile(path: path)
        }
        return try readable(fd, path: path)
    }

    /// The same for a path given as bytes, a name that is not UTF-8; `display` names it in
    /// errors (`PathBytes.text`).
    public static func openForReading(bytes path: [UInt8], display: String) throws -> ReadableFile {
        let fd = try ask(.init(operation: .open, path: display, flags: O_RDONLY, pathBytes: path)).descriptor
            ?? Syscall.open(bytes: path, display: display, O_RDONLY)
        return try readable(fd, path: display)
    }

    /// A file read through (a duplicate of) `fd`, which is closed; a folder is refused.
    private static func readable(_ fd: Int32, path: String) throws -> ReadableFile {
        defer { Syscall.close(fd) }
        let file = try ReadableFile(duplicating: fd, path: path)
        var info = stat()
        if fstat(file.descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { throw SystemError("open", path: path, errno: EISDIR) }
        return file
    }

    /// Creates (or empties) a file for writing; the caller closes the descriptor.
    public static func create(_ path: String, mode: mode_t) throws -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_TRUNC
        guard let fd = try ask(.init(operation: .open, path: path, flags: flags, mode: UInt32(mode))).descriptor else {
            return try Syscall.open(path, flags, mode)
        }
        return fd
    }

    public static func exists(_ path: String) throws -> Bool {
        guard let reply = try ask(.init(operation: .exists, path: path)).reply else { return try Syscall.fileStatus(path) != nil }
        return reply.exists ?? false
    }

    public static func rename(_ path: String, to target: String) throws {
        guard try ask(.init(operation: .rename, path: path, target: target)).reply != nil else {
            return try Syscall.rename(path, target)
        }
    }

    public static func unlinkIfPresent(_ path: String) throws {
        guard try ask(.init(operation: .unlink, path: path)).reply != nil else { return try Syscall.unlinkIfPresent(path) }
    }

    /// Sends a request to the client and waits for its answer; (nil, nil) outside a session.
    private static func ask(_ request: SessionProtocol.FileRequest) throws -> (reply: SessionProtocol.Reply?, descriptor: Int32?) {
        try client.withLock { connection -> (SessionProtocol.Reply?, Int32?) in
            guard let connection else { return (nil, nil) }
            try UnixSocket.send(connection, SessionProtocol.encode(request))
            guard let (payload, descriptors) = try UnixSocket.receive(connection) else {
                throw SystemError(request.operation.rawValue, path: request.path, errno: ECONNRESET)
            }
            let reply = try SessionProtocol.decode(SessionProtocol.Reply.self, payload)
            guard reply.errno == 0 else {
                descriptors.forEach { Syscall.close($0) }
                throw SystemError(request.operation.rawValue, path: request.path, errno: reply.errno)
            }
            descriptors.dropFirst().forEach { Syscall.close($0) }
            if request.operation == .open && descriptors.isEmpty {
                throw SystemError("open", path: request.path, errno: EPROTO)
            }
            return (reply, descriptors.first)
        }
    }

    /// The client's side: does what a session's child asks, with this process's rights. Only
    /// reading, and creating or emptying a file to write, are done (never anything else a
    /// descriptor could be opened for).
    public static func answer(_ request: SessionProtocol.FileRequest) -> (SessionProtocol.Reply, Int32?) {
        switch request.operation {
        case .open:
            let flags = request.flags ?? O_RDONLY
            guard flags == O_RDONLY || flags == O_WRONLY | O_CREAT | O_TRUNC else {
                return (SessionProtocol.Reply(errno: EPERM), nil)
            }
            // A name that is not UTF-8 comes as bytes beside its text.
            let fd = FileName(bytes: request.pathBytes ?? Array(request.path.utf8)).withCString {
                Glibc.open($0, flags | O_CLOEXEC, mode_t(request.mode ?? 0o644))
            }
            return fd < 0 ? (SessionProtocol.Reply(errno: errno), nil) : (SessionProtocol.Reply(), fd)
        case .exists:
            var info = stat()
            if lstat(request.path, &info) == 0 { return (SessionProtocol.Reply(exists: true), nil) }
            return errno == ENOENT ? (SessionProtocol.Reply(exists: false), nil) : (SessionProtocol.Reply(errno: errno), nil)
        case .rename:
            guard let target = request.target else { return (SessionProtocol.Reply(errno: EINVAL), nil) }
            return (SessionProtocol.Reply(errno: Glibc.rename(request.path, target) == 0 ? 0 : errno), nil)
        case .unlink:
            return (SessionProtocol.Reply(errno: Glibc.unlink(request.path) == 0 || errno == ENOENT ? 0 : errno), nil)
        }
    }
}
