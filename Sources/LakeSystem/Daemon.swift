#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Starting a background daemon that says when it is ready: `spawn` starts this executable again
/// with the ready pipe as descriptor 3 and waits for the daemon's one line ("ready", or why it
/// could not start); the daemon answers with `report`.
public enum Daemon {
    public enum Outcome: Sendable, Equatable {
        case ready(pid: Int32)
        /// The daemon said why it could not start.
        case refused(String)
        /// It ended without a word; the end of its log says why.
        case stopped(logTail: String)
    }

    /// Runs `/proc/self/exe arguments…` in a session of its own, stdin from /dev/null, stdout and
    /// stderr appended to `log`, and descriptor 3 the write end of the ready pipe (pass `3` to it
    /// as its ready descriptor). Returns once the daemon has answered or ended.
    public static func spawn(arguments: [String], log: String) throws -> Outcome {
        var created: [Int32] = [0, 0]
        guard pipe(&created) == 0 else { throw SystemError("pipe", path: log, errno: errno) }
        // Both ends move above 10 and close on exec, so the only copy the daemon gets is the one
        // dup2'd to fd 3 (a low pipe fd could otherwise be that very 3 and be closed).
        let pipeFDs = created.map { fcntl($0, F_DUPFD_CLOEXEC, 10) }
        created.forEach { close($0) }
        guard pipeFDs.allSatisfy({ $0 >= 10 }) else { throw SystemError("pipe", path: log, errno: EMFILE) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        // POSIX_SPAWN_SETSID: free of the terminal; and a clean signal state, so `lake unmount`'s
        // or systemd's SIGTERM reaches it whatever `lake mount`'s parent blocked.
        posix_spawnattr_setflags(&attributes, Int16(0x80 | SpawnSignals.reset(&attributes)))
        let cArgs = ([CommandLine.arguments[0]] + arguments).map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, cArgs, environ)
        posix_spawn_file_actions_destroy(&actions)
        posix_spawnattr_destroy(&attributes)
        close(pipeFDs[1])
        let reader = FileHandle(fileDescriptor: pipeFDs[0], closeOnDealloc: true)
        guard status == 0 else { throw SystemError("posix_spawn", path: "/proc/self/exe", errno: status) }
        let answer = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if answer == "ready" { return .ready(pid: pid) }
        if !answer.isEmpty { return .refused(answer) }
        let tail = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: "\n") ?? ""
        return .stopped(logTail: tail)
    }

    /// A daemon keeps nothing it inherited beyond stdin, stdout, stderr and the ready pipe: a
    /// stray copy of its caller's pipe would keep the caller waiting for end-of-file forever.
    /// Only pipes and sockets are closed: the runtime's own descriptors (libdispatch's epoll and
    /// eventfd) must stay.
    public static func closeInheritedDescriptors() {
        let open = (try? Syscall.listDirectory("/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for fd in open where fd > 3 {
            var info = stat()
            guard fstat(fd, &info) == 0 else { continue }
            let kind = info.st_mode & S_IFMT
            if kind == S_IFIFO || kind == S_IFSOCK { close(fd) }
        }
    }

    /// Tells the waiting `spawn` how starting went, through the pipe it passed. Anything but a
    /// pipe is left alone: writing to a descriptor that is not ours could damage a file.
    public static func report(_ fd: Int32?, _ message: String) {
        guard let fd else { return }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO else { return }
        let line = message + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}

/// This machine's name (processing leases and logs say who holds what).
public enum Host {
    public static var name: String {
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, host.count - 1)
        return String(cString: host)
    }
}
