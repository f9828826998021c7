import ArgumentParser
import Foundation
import Glibc
import LakeCatalog
import LakeCore
import LakeFS
import LakeFuse
import LakeModel
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

    @Option(name: .customShort("o"), help: "FUSE mount options, comma-separated (e.g. allow_other; ro: read-only, no incoming/, files read from the page cache); Lake's own: no_io_uring, no_busy_poll, no_passthrough, passthrough_kept=N (docs/mounting.md).")
    var mountOptions: [String] = []

    @Option(help: "Mount one frozen dataset as the root, read-only, cached by the kernel until unmounted.")
    var dataset: String?

    @Option(help: .hidden)
    var readyFd: Int32?

    var absoluteMountpoint: String {
        let url = URL(fileURLWithPath: mountpoint)
        return url.standardizedFileURL.path
    }

    /// `allowOther`: the store's `mount_allow_other` (lake.json; default true): root's mounts
    /// let every account in unless the store says only root may use them.
    func fuseOptions(allowOther: Bool) -> [String] {
        var result = ["fsname=lake", "subtype=lake"]
        result += mountOptions.flatMap { $0.split(separator: ",").map(String.init) }
        if getuid() == 0 && allowOther && !result.contains("allow_other") { result.append("allow_other") }
        // The kernel checks every access against the modes and owners the lake reports.
        if !result.contains("default_permissions") { result.append("default_permissions") }
        if dataset != nil && !result.contains("ro") { result.append("ro") }
        return result.filter { !["rw", "defaults", "noauto", "auto", "_netdev", "nofail", "user", "users"].contains($0) }
    }

    /// An account's own mount of a dataset of a store it cannot open: the store's mount daemon
    /// serves it the dataset (security.md).
    var servedByDaemon: Bool { dataset != nil && getuid() != 0 && Session.isNotOurs(options.storePath) }

    var logPath: String { servedByDaemon ? DaemonLog.ownPath() : DaemonLog.path(store: options.storePath) }

    func run() throws {
        if readyFd != nil { Daemon.closeInheritedDescriptors() }
        let path = absoluteMountpoint
        var datasetRoot: LakeID?
        if servedByDaemon { datasetRoot = try dataset.map(datasetID) }
        try reportingErrors {
            if servedByDaemon {
                // The daemon checks the dataset (frozen, readable by this account) when asked.
                if let problem = MountPoint.prepare(path) { throw MountError(message: problem) }
                return
            }
            let store = try options.openStore()   // fails early on a missing or newer store
            // A name (wing@latest) is resolved now: the mount serves that version for good.
            datasetRoot = try dataset.map { try DatasetNames.resolve($0, in: store.catalog) }
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
            try daemonize(path, dataset: datasetRoot?.rawValue)
        }
    }

    /// Starts `lake mount --foreground` detached, and waits until it says the mount works.
    func daemonize(_ path: String, dataset: String?) throws {
        let store = options.storePath
        try reportingErrors {
            let log = logPath
            if log != "/dev/null" { try Syscall.makeDirectories(Path.parent(of: log)) }
            var arguments = ["mount", path, "--store", store, "--ready-fd", "3"]
            if let dataset { arguments += ["--dataset", dataset] }
            for option in mountOptions { arguments += ["-o", option] }
            if options.verbose { arguments.append("--verbose") }
            switch try Daemon.spawn(arguments: arguments, log: log) {
            case .ready(let pid):
                print("Mounted the lake at \(path) (daemon pid \(pid), log \(log)).")
            case .refused(let answer):
                throw MountError(message: answer.replacingOccurrences(of: "lake: error: ", with: ""))
            case .stopped(let tail):
                throw MountError(message: "the mount daemon stopped before mounting; the end of \(log):\n\(tail)")
            }
        }
    }

    /// Mounts and serves until unmounted or signalled.
    func serve(_ path: String) throws {
        var (logger, flushLog) = DaemonLog.logger(path: logPath, verbose: options.verbose, toStderr: readyFd == nil)
        // Counts of lines repeated at the end are written before the daemon ends.
        defer { flushLog() }
        // Every mount of a store writes to one log: each line names its mount.
        logger[metadataKey: "mount"] = "\(path)"
        if servedByDaemon { return try serveFromDaemon(path, logger: logger) }
        let store: Store
        let services: DaemonServices
        let mount: FuseMount
        do {
            store = try Store(opening: options.storePath, logger: logger)
            services = try DaemonServices(store: store, logger: logger, readsOnly: dataset != nil, mountpoint: path)
            let options = fuseOptions(allowOther: store.config.mountAllowOther)
            let fs = LakeFileSystem(store: store, logger: logger, datasetRoot: try dataset.map(datasetID),
                                    readOnly: options.contains("ro"), settler: services.settler)
            mount = FuseMount(fs: fs, mountpoint: path, logger: logger, watchesChanges: dataset == nil)
            try mount.mount(options: options)
        } catch {
            Daemon.report(readyFd, "lake: error: \(error)")
            printError("\(error)")
            throw ExitCode.failure
        }
        logger.info("mounted", metadata: ["mountpoint": "\(path)", "store": "\(store.root)"])
        do {
            try store.catalog.recordAudit("mount", id: try dataset.map(datasetID), details: ["mountpoint": .string(path)], by: nil, at: .now)
        } catch {
            logger.warning("the mount could not be recorded in the audit log: \(error)")
        }
        do { try services.start() } catch {
            Daemon.report(readyFd, "lake: error: \(error)")
            printError("\(error)")
            mount.unmount()
            throw ExitCode.failure
        }
        Daemon.report(readyFd, "ready")
        mount.run()
        services.stop()
        logger.info("unmounted", metadata: ["mountpoint": "\(path)"])
    }

    /// An account's own dataset mount: the snapshot and blob files come from the store's mount
    /// daemon (which checks that this account may read the dataset); FUSE through fusermount3.
    func serveFromDaemon(_ path: String, logger: Logger) throws {
        let mount: FuseMount
        let store: Store
        do {
            let id = try datasetID(dataset ?? "")
            let (snapshot, opened) = try DatasetServing.request(id, storePath: options.storePath, mountpoint: path, log: STDERR_FILENO)
            let renewal = DatasetServing.renewal(of: id, serving: snapshot, storePath: options.storePath, mountpoint: path, log: STDERR_FILENO)
            store = Store(serving: snapshot, from: options.storePath, connection: opened, renewal: renewal, logger: logger)
            let fs = LakeFileSystem(store: store, logger: logger, datasetRoot: id, settler: nil)
            mount = FuseMount(fs: fs, mountpoint: path, logger: logger, watchesChanges: false)
            try mount.mount(options: fuseOptions(allowOther: false))
        } catch {
            Daemon.report(readyFd, "lake: error: \(error)")
            printError("\(error)")
            throw ExitCode.failure
        }
        logger.info("mounted", metadata: ["mountpoint": "\(path)", "store": "\(options.storePath)", "served": "by its mount daemon"])
        Daemon.report(readyFd, "ready")
        mount.run()
        (store.blobs as? ServedBlobStore)?.endSession()
        logger.info("unmounted", metadata: ["mountpoint": "\(path)"])
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
            guard ok else {
                // "Device or resource busy" alone does not say who: name the processes inside.
                let users = message.contains("busy") ? MountUsers.of(path) : []
                let who = users.prefix(10).map { "\n  \($0.command) (pid \($0.pid)): \($0.holds)" }.joined()
                let more = users.count > 10 ? "\n  … and \(users.count - 10) more" : ""
                let hint = users.isEmpty ? "" : "; it is in use by:\(who)\(more)\nclose those (or cd out of the mount) and unmount again, or take it down lazily with fusermount3 -uz \(path)"
                throw MountError(message: "cannot unmount \(path): \(message)\(hint)")
            }
            // Returns once the daemon has stopped too: a command run next (another account's
            // `lake`, `lake gc`) finds no daemon of this mount still winding down.
            if !MountPoint.waitForDaemons(of: path, seconds: 60) {
                printError("the daemon of \(path) is still stopping after 60 s (its log says why: <store>/logs/mount.log)")
            }
            print("Unmounted \(path).")
        }
    }
}
