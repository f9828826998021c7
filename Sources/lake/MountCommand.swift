import ArgumentParser
import Foundation
import Glibc
import LakeCatalog
import LakeCore
import LakeFS
import LakeFuse
import LakeSystem
import Logging

struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount the lake at a folder; returns once the mount works, then serves in the background.",
        discussion: "Logs go to <store>/logs/mount.log (and stderr with --foreground). lake unmount, SIGTERM or SIGINT unmount cleanly.")

    @OptionGroup var options: StoreOptions

    @Argument(help: "An empty folder to mount the lake at.")
    var mountpoint: String

    @Flag(help: "Serve in this process instead of in the background.")
    var foreground = false

    @Option(name: .customShort("o"), help: "FUSE mount options, comma-separated (e.g. allow_other); Lake's own: no_io_uring, no_busy_poll, no_passthrough (docs/mounting.md).")
    var mountOptions: [String] = []

    @Option(help: "Mount one frozen dataset as the root, read-only, cached by the kernel until unmounted.")
    var dataset: String?

    @Option(help: .hidden)
    var readyFd: Int32?

    var absoluteMountpoint: String {
        let url = URL(fileURLWithPath: mountpoint)
        return url.standardizedFileURL.path
    }

    var fuseOptions: [String] {
        var result = ["fsname=lake", "subtype=lake"]
        result += mountOptions.flatMap { $0.split(separator: ",").map(String.init) }
        if getuid() == 0 && !result.contains("allow_other") { result.append("allow_other") }
        if dataset != nil && !result.contains("ro") { result.append("ro") }
        return result.filter { !["rw", "defaults", "noauto", "auto", "_netdev", "nofail", "user", "users"].contains($0) }
    }

    func run() throws {
        if readyFd != nil { Self.closeInheritedDescriptors() }
        let path = absoluteMountpoint
        let datasetRoot = try dataset.map(datasetID)
        try reportingErrors {
            let store = try options.openStore()   // fails early on a missing or newer store
            if let datasetRoot {
                guard let found = try store.catalog.dataset(datasetRoot) else { throw CatalogError.notFound(datasetRoot) }
                guard found.isFrozen else {
                    throw MountError(message: "dataset \(datasetRoot) is not frozen; only a frozen dataset can be mounted (lake dataset freeze \(datasetRoot))")
                }
            }
            if let problem = MountPoint.prepare(path) { throw MountError(message: problem) }
        }
        if foreground || readyFd != nil {
            try serve(path)
        } else {
            try daemonize(path)
        }
    }

    /// Starts `lake mount --foreground` detached, and waits until it says the mount works.
    func daemonize(_ path: String) throws {
        let store = options.storePath
        try reportingErrors {
            try Syscall.makeDirectories(Path.join(store, "logs"))
            var created: [Int32] = [0, 0]
            guard pipe(&created) == 0 else { throw MountError(message: "cannot create a pipe") }
            // Both ends move above 10 and close on exec, so the only copy the daemon gets is the
            // one dup2'd to fd 3 (a low pipe fd could otherwise be that very 3 and be closed).
            let pipeFDs = created.map { fcntl($0, F_DUPFD_CLOEXEC, 10) }
            created.forEach { close($0) }
            guard pipeFDs.allSatisfy({ $0 >= 10 }) else { throw MountError(message: "cannot create a pipe") }
            var arguments = [CommandLine.arguments[0], "mount", path, "--store", store, "--ready-fd", "3"]
            if let dataset { arguments += ["--dataset", dataset] }
            for option in mountOptions { arguments += ["-o", option] }
            if options.verbose { arguments.append("--verbose") }
            let log = Path.join(store, "logs/mount.log")
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
            posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 3)
            var attributes = posix_spawnattr_t()
            posix_spawnattr_init(&attributes)
            posix_spawnattr_setflags(&attributes, Int16(0x80))   // POSIX_SPAWN_SETSID: its own session, free of the terminal
            let cArgs = arguments.map { strdup($0) } + [nil]
            defer { cArgs.forEach { free($0) } }
            var pid: pid_t = 0
            let status = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, cArgs, environ)
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
            close(pipeFDs[1])
            guard status == 0 else { throw MountError(message: "cannot start the mount daemon: \(String(cString: strerror(status)))") }
            let reader = FileHandle(fileDescriptor: pipeFDs[0], closeOnDealloc: true)
            let answer = String(decoding: reader.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard answer == "ready" else {
                if !answer.isEmpty { throw MountError(message: answer.replacingOccurrences(of: "lake: error: ", with: "")) }
                let tail = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").suffix(3).joined(separator: "\n") ?? ""
                throw MountError(message: "the mount daemon stopped before mounting; the end of \(log):\n\(tail)")
            }
            print("Mounted the lake at \(path) (daemon pid \(pid), log \(log)).")
        }
    }

    /// A daemon keeps nothing it inherited beyond stdin, stdout, stderr and the ready pipe:
    /// a stray copy of its caller's pipe would keep the caller waiting for end-of-file forever.
    /// Only pipes and sockets are closed: the runtime's own descriptors (libdispatch's epoll and
    /// eventfd) must stay.
    static func closeInheritedDescriptors() {
        let open = (try? Syscall.listDirectory("/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for fd in open where fd > 3 {
            var info = stat()
            guard fstat(fd, &info) == 0 else { continue }
            let kind = info.st_mode & S_IFMT
            if kind == S_IFIFO || kind == S_IFSOCK { close(fd) }
        }
    }

    /// Mounts and serves until unmounted or signalled.
    func serve(_ path: String) throws {
        let logger = DaemonLog.logger(store: options.storePath, verbose: options.verbose, toStderr: readyFd == nil)
        let store: Store
        let mount: FuseMount
        let settler: BlobSettler
        do {
            store = try Store(opening: options.storePath, logger: logger)
            _ = try Recovery(store: store).run()
            settler = BlobSettler(store: store, logger: logger)
            let fs = LakeFileSystem(store: store, logger: logger, datasetRoot: try dataset.map(datasetID), settler: settler)
            mount = FuseMount(fs: fs, mountpoint: path, logger: logger, watchesChanges: dataset == nil)
            try mount.mount(options: fuseOptions)
        } catch {
            report(readyFd, "lake: error: \(error)")
            printError("\(error)")
            throw ExitCode.failure
        }
        logger.info("mounted", metadata: ["mountpoint": "\(path)", "store": "\(store.root)"])
        // A frozen dataset never changes and needs no processing: its mount only reads.
        let scrubber = BlobScrubber(store: store, logger: logger)
        if dataset == nil {
            ProcessingLoop(store: store, logger: logger).start()
            scrubber.start()
            settler.start()
        }
        report(readyFd, "ready")
        mount.run()
        scrubber.stop()
        settler.stop()
        logger.info("unmounted", metadata: ["mountpoint": "\(path)"])
    }

    /// Tells the waiting `lake mount` how mounting went, through the pipe it passed. Anything
    /// but a pipe is left alone: writing to a descriptor that is not ours could damage a file.
    func report(_ fd: Int32?, _ message: String) {
        guard let fd else { return }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFIFO else { return }
        let line = message + "\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }
}

struct MountError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "unmount", abstract: "Unmount a mounted lake.")

    @Argument(help: "The mountpoint.")
    var mountpoint: String

    func run() throws {
        let path = URL(fileURLWithPath: mountpoint).standardizedFileURL.path
        try reportingErrors {
            guard MountPoint.isMounted(path) else { throw MountError(message: "\(path) is not mounted") }
            var (ok, message) = MountPoint.unmount(path, lazy: false)
            if !ok, message.contains("not connected") { (ok, message) = MountPoint.unmount(path, lazy: true) }
            guard ok else { throw MountError(message: "cannot unmount \(path): \(message)") }
            print("Unmounted \(path).")
        }
    }
}
