#if canImport(Glibc)
import Glibc
#endif

/// What a spawned process inherits of its parent's descriptors.
public enum SpawnDescriptors {
    /// Has `actions` close every descriptor from `first` on in the child (after its dup2s): one
    /// another thread made without close-on-exec would otherwise be inherited. False where the
    /// C library cannot (before glibc 2.34).
    @discardableResult
    public static func closeFrom(_ first: Int32, _ actions: inout posix_spawn_file_actions_t) -> Bool {
        guard let addCloseFrom = GNUFunctions.addCloseFrom else { return false }
        return addCloseFrom(&actions, first) == 0
    }

    /// A pipe both of whose ends are closed on exec (read end, write end).
    public static func pipe() throws -> (Int32, Int32) {
        var ends: [Int32] = [-1, -1]
        if let pipe2 = GNUFunctions.pipe2 {
            guard pipe2(&ends, O_CLOEXEC) == 0 else { throw SystemError("pipe", path: "", errno: errno) }
        } else {
            guard Glibc.pipe(&ends) == 0 else { throw SystemError("pipe", path: "", errno: errno) }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        }
        return (ends[0], ends[1])
    }
}
