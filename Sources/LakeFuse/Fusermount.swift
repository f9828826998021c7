import Glibc
import LakeFS
import LakeSystem

/// Mounting as an account other than root: `fusermount3` (setuid root) mounts and hands back
/// the /dev/fuse descriptor over a socket (`_FUSE_COMMFD`), which libfuse then serves as the
/// mountpoint "/dev/fd/N". libfuse would try /dev/fuse itself first and give up where only root
/// may open it (mode 0600, as on this project's machines).
enum Fusermount {
    static let candidates = ["/usr/bin/fusermount3", "/bin/fusermount3", "/usr/local/bin/fusermount3"]

    /// Mounts at `mountpoint` with the kernel options `options`; the /dev/fuse descriptor.
    static func mount(_ mountpoint: String, options: [String]) throws(FSError) -> Int32 {
        guard let program = candidates.first(where: { access($0, X_OK) == 0 }) else {
            throw .io("fusermount3 is not installed (Debian: apt install fuse3); an account other than root mounts through it")
        }
        // fusermount3 opens /dev/fuse with the caller's rights: a machine whose /dev/fuse is
        // root's alone (0600) lets only root mount.
        guard access("/dev/fuse", R_OK | W_OK) == 0 else {
            throw .io("this machine lets only root use FUSE (/dev/fuse: " + String(cString: strerror(errno))
                      + "); ask its administrator to make /dev/fuse 0666 (the distributions' default) or to mount the dataset for you")
        }
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            throw .io("socketpair: " + String(cString: strerror(errno)))
        }
        defer { if pair[1] >= 0 { Glibc.close(pair[1]) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, pair[1])
        let words: [String] = [program] + (options.isEmpty ? [] : ["-o", options.joined(separator: ",")]) + ["--", mountpoint]
        let environment: [String] = ["_FUSE_COMMFD=\(pair[0])", "PATH=/usr/bin:/bin"]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, envp)
        Glibc.close(pair[0])
        guard spawned == 0 else { throw .io("cannot run \(program): " + String(cString: strerror(spawned))) }
        let received = try? UnixSocket.receiveDescriptor(pair[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard let fd = received ?? nil else {
            throw .io("fusermount3 could not mount at \(mountpoint) (exit status \((status >> 8) & 0xff); is it an empty folder of yours?)")
        }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// Takes a mount made through fusermount3 down (lazily: a process may still be inside).
    /// libfuse cannot: it knows the mount only as "/dev/fd/N". Nothing happens if it is gone.
    static func unmount(_ mountpoint: String) {
        guard let program = candidates.first(where: { access($0, X_OK) == 0 }) else { return }
        let words: [String] = [program, "-u", "-z", "-q", "--", mountpoint]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, program, nil, nil, argv, environ) == 0 else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }
}
