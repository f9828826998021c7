import Foundation
import LakeModel
import LakeSystem
import Logging
import Synchronization

/// The mount daemon's side of the session socket (`SessionProtocol`): accepts connections, asks
/// the kernel who connected, and runs each session's `lake` command as a child acting for that
/// account, with the client's stdin/stdout/stderr and the connection (for file requests) as its
/// descriptors 0-3. A session whose client goes away is ended (SIGTERM).
public final class SessionServer: Sendable {
    /// Sessions running at once, in all and for one account (a dataset mount of an account's
    /// own holds one for as long as it is mounted); more are refused, so no account can make the
    /// daemon spawn without bound, nor keep others out.
    public static let maximumSessions = 64
    public static let maximumSessionsPerAccount = 8

    /// POLLRDHUP (not visible to Swift): the client closed its end.
    static let peerClosed: Int32 = 0x2000

    let storePath: String
    let socketPath: String
    let executable: String
    let logger: Logger
    private let listener = Atomic<Int32>(-1)
    /// The inode of the socket's path as this daemon bound it (another daemon may rebind it).
    private let socketInode = Atomic<UInt64>(0)
    private let socketWatch = BackgroundThread(name: "lake-session-socket")
    /// Sessions running, by account.
    private let running = Mutex<[UInt32: Int]>([:])
    /// The children of sessions that serve an account's dataset mount, which never end on their
    /// own: `stop` ends them. A pid leaves before it is reaped, under this lock, so it is never
    /// signalled once reused.
    private let serving = Mutex<Set<pid_t>>([])
    private let thread = BackgroundThread(name: "lake-sessions")

    public init(storePath: String, logger: Logger) {
        self.storePath = storePath
        self.socketPath = SessionProtocol.socketPath(forStore: storePath)
        self.executable = Syscall.canonicalPath("/proc/self/exe")
        self.logger = logger
    }

    /// Listens at the store's socket (mode 0666: any account may ask; what it may do is decided
    /// per session). A second daemon of the same store takes the socket over; every 5 s each
    /// daemon checks the socket is still its own, and takes it back when it is gone or its
    /// daemon is (one stopped or was killed), so sessions are served while any daemon of the
    /// store runs.
    public func start() throws {
        if mkdir(SessionProtocol.socketFolder, 0o755) != 0 && errno != EEXIST {
            throw SystemError("mkdir", path: SessionProtocol.socketFolder, errno: errno)
        }
        try bindSocket()
        do { try serve() } catch {
            // Nothing would accept on the socket: take it down, and say why.
            stop()
            throw error
        }
    }

    private func serve() throws(ThreadStartError) {
        try thread.start { [self] thread in
            var fd = listener.load(ordering: .acquiring)
            while fd >= 0 {
                let accepted: Int32?
                do {
                    accepted = try UnixSocket.accept(fd)
                } catch {
                    // Out of descriptors, or memory: the next connection may find them again.
                    logger.warning("cannot accept a session: \(error)")
                    if !thread.pause(0.1, wakeable: false) { close(fd); break }
                    continue
                }
                guard let connection = accepted else {
                    // Shut down: this thread closes what it accepted on, then goes on with the
                    // socket taken back, or ends (stopped).
                    close(fd)
                    let next = listener.load(ordering: .acquiring)
                    if next == fd { _ = listener.compareExchange(expected: fd, desired: -1, ordering: .acquiringAndReleasing) }
                    fd = next == fd ? -1 : next
                    continue
                }
                admit(connection)
            }
        }
        try socketWatch.start { [self] thread in
            while thread.pause(5, wakeable: false) { keepSocket() }
        }
        logger.info("sessions for other accounts at \(socketPath)")
    }

    /// Binds the socket's path anew and listens there; the accepting thread moves to it.
    private func bindSocket() throws {
        let fd = try UnixSocket.listen(at: socketPath, mode: 0o666)
        var info = stat()
        socketInode.store(stat(socketPath, &info) == 0 ? UInt64(info.st_ino) : 0, ordering: .relaxed)
        let old = listener.exchange(fd, ordering: .acquiringAndReleasing)
        if old >= 0 { shutdown(old, Int32(SHUT_RDWR)) }
    }

    /// Whether the socket's path is the one this daemon bound.
    private var ownsSocketPath: Bool {
        var info = stat()
        return stat(socketPath, &info) == 0 && UInt64(info.st_ino) == socketInode.load(ordering: .relaxed)
    }

    /// Takes the socket back when its path is gone or no daemon answers there.
    private func keepSocket() {
        guard listener.load(ordering: .relaxed) >= 0, !ownsSocketPath else { return }
        if let probe = try? UnixSocket.connect(to: socketPath) {
            close(probe)
            return
        }
        do {
            try bindSocket()
            logger.info("the daemon that had taken the session socket over is gone: sessions for other accounts at \(socketPath)")
        } catch {
            logger.warning("cannot take the session socket back: \(error)")
        }
    }

    /// Runs a session for the account at the other end of `connection`, within the bounds.
    private func admit(_ connection: Int32) {
        guard let peer = try? UnixSocket.peer(connection) else {
            close(connection)
            return
        }
        let admitted = running.withLock { running -> Bool in
            guard running.values.reduce(0, +) < Self.maximumSessions,
                  running[peer.uid, default: 0] < Self.maximumSessionsPerAccount else { return false }
            running[peer.uid, default: 0] += 1
            return true
        }
        guard admitted else {
            refuse(connection, "the lake's mount daemon is running as many sessions as it may (\(Self.maximumSessionsPerAccount) "
                   + "for one account, \(Self.maximumSessions) in all); try again when one has ended")
            close(connection)
            return
        }
        let ended: @Sendable () -> Void = { [self] in
            running.withLock { running in
                running[peer.uid, default: 1] -= 1
                if running[peer.uid] == 0 { running[peer.uid] = nil }
            }
        }
        do {
            try DetachedThread.startOrThrow("lake-session") { [self] in
                serve(connection, peer: peer)
                ended()
            }
        } catch {
            // Foundation's detached thread failed silently here, and the client waited for ever.
            ended()
            refuse(connection, "the lake's mount daemon \(error)")
            close(connection)
        }
    }

    /// Stops accepting and removes the socket if it is still this daemon's (another daemon of
    /// the store that took it over keeps it). Commands running in sessions finish; sessions
    /// serving an account's dataset mount end (SIGTERM), or they would go on as root, holding
    /// the store, with nothing to end them: their mounts ask the next daemon for new ones.
    public func stop() {
        socketWatch.stop()
        let owned = ownsSocketPath
        let fd = listener.exchange(-1, ordering: .acquiringAndReleasing)
        guard fd >= 0 else { return }
        shutdown(fd, Int32(SHUT_RDWR))
        thread.stop()
        if owned { try? Syscall.unlinkIfPresent(socketPath) }
        serving.withLock { $0.forEach { kill($0, SIGTERM) } }
    }

    /// Tells the client why it gets no session (the caller closes the connection, once).
    private func refuse(_ connection: Int32, _ message: String) {
        try? UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.Reply(exit: 1, message: message)))
    }

    private func serve(_ connection: Int32, peer: (pid: Int32, uid: UInt32, gid: UInt32)) {
        var descriptors: [Int32] = []
        defer {
            descriptors.forEach { _ = close($0) }
            close(connection)
        }
        do {
            guard let (payload, received) = try UnixSocket.receive(connection) else { return }
            descriptors = received
            let run = try SessionProtocol.decode(SessionProtocol.Run.self, payload)
            guard descriptors.count == 3 else {
                return refuse(connection, "a session needs stdin, stdout and stderr")
            }
            guard let command = run.arguments.first(where: { !$0.hasPrefix("-") }),
                  SessionProtocol.permittedCommands.contains(command) else {
                return refuse(connection, "only \(SessionProtocol.permittedCommands.sorted().joined(separator: ", ")) run through the mount daemon; "
                              + "other commands need the store itself (root)")
            }
            let account = Account.of(pid: peer.pid, uid: peer.uid, gid: peer.gid)
            var environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                               SessionProtocol.Environment.store: storePath,
                               SessionProtocol.Environment.descriptor: "3",
                               SessionProtocol.Environment.account: String(decoding: SessionProtocol.encode(account), as: UTF8.self)]
            for key in SessionProtocol.passedEnvironment { if let value = run.environment[key] { environment[key] = value } }
            let own = ProcessInfo.processInfo.environment
            for key in SessionProtocol.storeCredentials { if let value = own[key] { environment[key] = value } }
            // The child holds the write end of this pipe as its descriptor 4
            // (`SessionProtocol.daemonDescriptor`): when it ends, the read end says so, and the
            // wait below sleeps on both that and the connection; when this process ends, the
            // write end says so to the child.
            let ended = try SpawnDescriptors.pipe()
            defer { close(ended.0) }
            let pid: pid_t
            do {
                pid = try serving.withLock { serving in
                    let pid = try spawn(arguments: run.arguments.indices.map(run.bytes(ofArgument:)), environment: environment,
                                        descriptors: [descriptors[0], descriptors[1], descriptors[2], connection, ended.1])
                    if SessionProtocol.servesDatasetMount(run.arguments) { serving.insert(pid) }
                    return pid
                }
                close(ended.1)
            } catch {
                close(ended.1)
                throw error
            }
            logger.info("session for \(account.name) (uid \(account.uid)): lake \(run.arguments.prefix(3).joined(separator: " "))")
            let status = wait(for: pid, ended: ended.0, while: connection)
            try? UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.Reply(exit: status)))
        } catch {
            logger.warning("a session failed: \(error)")
            refuse(connection, "the lake's mount daemon could not run the command: \(error)")
        }
    }

    /// Starts `lake ARGUMENTS` with `descriptors` as its 0, 1, 2, 3… and nothing else open.
    private func spawn(arguments: [[UInt8]], environment: [String: String], descriptors: [Int32]) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Through numbers above 3 first: a descriptor may already be 0-3 in this process.
        for (index, fd) in descriptors.enumerated() { posix_spawn_file_actions_adddup2(&actions, fd, Int32(100 + index)) }
        for index in descriptors.indices { posix_spawn_file_actions_adddup2(&actions, Int32(100 + index), Int32(index)) }
        // And nothing else: a descriptor another thread made without close-on-exec (another
        // session's connection or pipe, between its accept and its fcntl) would otherwise keep
        // that session's ends open in this child.
        if !SpawnDescriptors.closeFrom(Int32(descriptors.count), &actions) {
            for index in descriptors.indices { posix_spawn_file_actions_addclose(&actions, Int32(100 + index)) }
        }
        let argv = ([Array(executable.utf8)] + arguments).map { bytes in FileName(bytes: bytes).withCString { strdup($0) } } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        // Default signal handling and nothing blocked (the daemon's threads block or ignore
        // some), so that SIGTERM ends a session whose client went away.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(SpawnSignals.reset(&attributes)))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw SystemError("posix_spawn", path: executable, errno: result) }
        return pid
    }

    /// Waits for the child (`ended` hangs up when it exits); ends it if the client hangs up
    /// first. Its exit status, or 128 plus the signal that ended it. Sleeps until one happens: a
    /// dataset mount's session lasts as long as the mount.
    private func wait(for pid: pid_t, ended: Int32, while connection: Int32) -> Int32 {
        var watches = [pollfd(fd: ended, events: 0, revents: 0), pollfd(fd: connection, events: Int16(Self.peerClosed), revents: 0)]
        while true {
            if poll(&watches, nfds_t(watches.count), -1) < 0 && errno != EINTR { break }
            if watches[0].revents != 0 { break }
            if watches[1].revents & Int16(Self.peerClosed | POLLHUP | POLLERR) != 0 {
                kill(pid, SIGTERM)
                watches.removeLast()
            }
        }
        serving.withLock { _ = $0.remove(pid) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
