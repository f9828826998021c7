#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A program run with `posix_spawn`, for `lake`'s own helpers (fusermount3) and for the tests.
///
/// Foundation's `Process` is not used: on this toolchain its `run()` lists `/proc/self/fd` to
/// find the descriptors to close and copies each entry's name past its end, which now and then
/// crashes the calling process (swift-corelibs-foundation, fixed upstream after this release).
/// Here the child closes everything above its standard streams itself (glibc's
/// `addclosefrom_np`), starts with no signal blocked whatever its parent blocked, and is reaped
/// only by `wait()`, so its pid stays its own until then.
public final class ChildProcess: @unchecked Sendable {
    /// Where one of the child's standard streams goes.
    public enum Stream: Sendable {
        /// The parent's own.
        case inherit
        /// /dev/null.
        case null
        /// A new pipe; the parent's end is `input`, `output` or `errors`.
        case pipe
        /// A file, created if missing and appended to.
        case file(String)
        /// The child's standard output (for standard error only).
        case output
    }

    /// How a child ended.
    public struct Termination: Sendable, Equatable, CustomStringConvertible {
        /// The exit status, or the signal's number when a signal ended it (as `Process` did).
        public var status: Int32
        public var signaled: Bool
        public init(status: Int32, signaled: Bool) {
            self.status = status
            self.signaled = signaled
        }

        public var description: String { signaled ? "killed by signal \(status)" : "exit status \(status)" }
    }

    public let pid: pid_t
    /// The parent's ends of the pipes asked for.
    public let input: FileHandle?
    public let output: FileHandle?
    public let errors: FileHandle?

    private let lock = NSLock()
    private var ended: Termination?

    /// Starts `executable` (a path: no search of PATH) with `arguments`, in `directory`, with
    /// `environment` (the parent's when nil).
    public init(_ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
                directory: String? = nil, input: Stream = .inherit, output: Stream = .inherit,
                errors: Stream = .inherit) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // The child's ends of its pipes are closed here once it has started (or failed to); the
        // parent's are owned by their handles from the start, which close them if this throws.
        var childEnds: [Int32] = []
        defer { childEnds.forEach { _ = close($0) } }
        func route(_ stream: Stream, to target: Int32) throws -> FileHandle? {
            switch stream {
            case .inherit:
                return nil
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
                return nil
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
                return nil
            case .output:
                posix_spawn_file_actions_adddup2(&actions, 1, target)
                return nil
            case .pipe:
                let (readEnd, writeEnd) = try Self.highPipe()
                let (mine, theirs) = target == 0 ? (writeEnd, readEnd) : (readEnd, writeEnd)
                childEnds.append(theirs)
                posix_spawn_file_actions_adddup2(&actions, theirs, target)
                return FileHandle(fileDescriptor: mine, closeOnDealloc: true)
            }
        }
        self.input = try route(input, to: 0)
        self.output = try route(output, to: 1)
        self.errors = try route(errors, to: 2)
        if let directory {
            guard let addChangeDirectory = GNUFunctions.addChangeDirectory else {
                throw SystemError("posix_spawn_file_actions_addchdir_np", path: directory, errno: ENOSYS)
            }
            _ = directory.withCString { addChangeDirectory(&actions, $0) }
        }
        guard SpawnDescriptors.closeFrom(3, &actions) else {
            throw SystemError("posix_spawn_file_actions_addclosefrom_np", path: executable, errno: ENOSYS)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(SpawnSignals.reset(&attributes)))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envp?.forEach { free($0) } }
        var pid: pid_t = 0
        let status = envp.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard status == 0 else { throw SystemError("posix_spawn", path: executable, errno: status) }
        self.pid = pid
    }

    /// Runs a program to its end and returns what it wrote to standard output and standard
    /// error (read at the same time, so neither pipe fills and stalls it) and how it ended.
    public static func run(_ executable: String, _ arguments: [String] = [], environment: [String: String]? = nil,
                           directory: String? = nil, input: Stream = .null,
                           errors: Stream = .pipe) throws -> (Termination, output: Data, errors: Data) {
        let child = try ChildProcess(executable, arguments, environment: environment, directory: directory,
                                     input: input, output: .pipe, errors: errors)
        guard let errors = child.errors, let output = child.output else {
            let outputData = child.output.map(Self.readToEnd) ?? Data()
            return (child.wait(), outputData, Data())
        }
        let outputData: Data, errorData: Data
        if let reading = ReadToEnd(errors) {
            outputData = Self.readToEnd(output)
            errorData = reading.wait()
        } else {
            // No thread to be had (a process limit): both pipes read here, as each has bytes.
            (outputData, errorData) = Self.readBothToEnd(output, errors)
        }
        return (child.wait(), outputData, errorData)
    }

    /// Reads two pipes to their ends on this thread, whichever has bytes first.
    static func readBothToEnd(_ first: FileHandle, _ second: FileHandle) -> (Data, Data) {
        var data = [Data(), Data()]
        var open = [true, true]
        var buffer = [UInt8](repeating: 0, count: 65536)
        while open.contains(true) {
            var fds = [first, second].enumerated().map { index, handle in
                pollfd(fd: open[index] ? handle.fileDescriptor : -1, events: Int16(POLLIN), revents: 0)
            }
            if poll(&fds, 2, -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for index in 0..<2 where open[index] && fds[index].revents != 0 {
                let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
                if count > 0 { data[index].append(contentsOf: buffer[..<count]) } else if count == 0 || errno != EINTR { open[index] = false }
            }
        }
        return (data[0], data[1])
    }

    /// Whether the child has not ended yet (it is not reaped: `pid` stays its own).
    public var isRunning: Bool {
        if lock.withLock({ ended }) != nil { return false }
        var info = siginfo_t()
        // WNOWAIT: look without reaping, so only `wait` reaps and a pid is never reused under us.
        let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
        return result == 0 && info._sifields._sigchld.si_pid == 0
    }

    /// Waits for the child to end and reaps it; later calls return the same.
    @discardableResult
    public func wait() -> Termination {
        // Wait without reaping first, so `send` (which takes the lock) never blocks meanwhile
        // and never signals a pid that was reaped and could be someone else's.
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        return lock.withLock {
            if let ended { return ended }
            var status: Int32 = 0
            var result = Termination(status: -1, signaled: false)   // reaped elsewhere: how is unknown
            while true {
                if waitpid(pid, &status, 0) == pid {
                    let signal = status & 0x7f
                    result = signal == 0 ? Termination(status: (status >> 8) & 0xff, signaled: false)
                        : Termination(status: signal, signaled: true)
                    break
                }
                if errno != EINTR { break }
            }
            ended = result
            return result
        }
    }

    /// Sends `signal` to the child unless it was reaped already (SIGKILL: test runners block
    /// SIGTERM, which only matters for children not started here).
    public func send(_ signal: Int32 = SIGKILL) {
        lock.withLock { if ended == nil { _ = kill(pid, signal) } }
    }

    /// Everything until end of file, retrying reads a signal interrupted.
    public static func readToEnd(_ handle: FileHandle) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
            if count > 0 { data.append(contentsOf: buffer[..<count]); continue }
            if count < 0 && errno == EINTR { continue }
            return data
        }
    }

    /// A pipe whose ends are above the standard streams and close on exec: a `dup2` onto 0, 1
    /// or 2 then always makes a copy the child keeps.
    private static func highPipe() throws -> (Int32, Int32) {
        let (readEnd, writeEnd) = try SpawnDescriptors.pipe()
        defer { close(readEnd); close(writeEnd) }
        let high = [readEnd, writeEnd].map { fcntl($0, F_DUPFD_CLOEXEC, 10) }
        guard high.allSatisfy({ $0 >= 10 }) else {
            high.filter { $0 >= 0 }.forEach { _ = close($0) }
            throw SystemError("fcntl", path: "", errno: errno)
        }
        return (high[0], high[1])
    }
}

/// A thread reading a pipe to its end; nil when no thread can be made.
private final class ReadToEnd: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init?(_ handle: FileHandle) {
        let started = DetachedThread.start("lake-read-pipe") { [self] in
            data = ChildProcess.readToEnd(handle)
            done.signal()
        }
        if !started { return nil }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
