import CFuse3
import CFuseRing
import Glibc
import LakeFS
import LakeSystem
import Logging
import Synchronization

/// A mounted LakeFileSystem: the libfuse session, its multithreaded loop and the kernel cache
/// invalidations the change watcher asks for. Handlers run synchronously on libfuse's workers.
public final class FuseMount: @unchecked Sendable {
    public let fs: LakeFileSystem
    public let mountpoint: String
    let logger: Logger
    let directories = DirectoryHandles()
    let passthrough: PassthroughFiles
    /// Reads of stored files the daemon answered itself (passthrough spares it the others).
    let storedFileReads = Atomic<Int>(0)
    private var session: OpaquePointer?
    private var watcher: ChangeWatcher?
    /// Lets go of blob files removed while the mount holds them.
    private var releaser: RemovedBlobReleaser?
    /// Mounted by fusermount3 (an account other than root), which alone can take it down.
    private var throughFusermount = false

    /// Whether catalog changes are watched (a mounted frozen dataset never changes).
    let watchesChanges: Bool

    public init(fs: LakeFileSystem, mountpoint: String, logger: Logger, watchesChanges: Bool = true) {
        self.watchesChanges = watchesChanges
        self.fs = fs
        self.mountpoint = mountpoint
        self.logger = logger
        self.passthrough = PassthroughFiles(logger: logger)
    }

    /// The mount option that keeps requests on /dev/fuse even when the kernel offers io_uring.
    public static let noRingOption = "no_io_uring"
    /// The mount option that lets idle CPUs halt even while requests flow.
    public static let noBusyPollOption = "no_busy_poll"
    /// The mount option that keeps the kernel from reading stored files by itself.
    public static let noPassthroughOption = "no_passthrough"
    /// `passthrough_kept=N`: how many unused passthrough backing files are kept registered
    /// (default 4,096; each holds an open blob in the kernel).
    public static let passthroughKeptOption = "passthrough_kept="
    static let ownOptions = [noRingOption, noBusyPollOption, noPassthroughOption]

    static func isOwn(_ option: String) -> Bool { ownOptions.contains(option) || option.hasPrefix(passthroughKeptOption) }

    /// Creates the session and mounts it; throws with libfuse's complaint on failure.
    /// `ringWorkersPerCPU` 0 lets the transport choose (16 workers in all, 2 to 8 per CPU).
    public func mount(options: [String], ringWorkersPerCPU: UInt32 = 0) throws(FSError) {
        var ops = Operations.table()
        let wantsRing = !options.contains(Self.noRingOption)
        let busyPoll = !options.contains(Self.noBusyPollOption)
        let wantsPassthrough = !options.contains(Self.noPassthroughOption)
        for option in options where option.hasPrefix(Self.passthroughKeptOption) {
            guard let kept = Int(option.dropFirst(Self.passthroughKeptOption.count)), kept >= 0 else {
                throw .io("\(option): the number of passthrough backing files kept unused must be a whole number ≥ 0")
            }
            passthrough.idleLimit = kept
        }
        let fuseOptions = options.filter { !Self.isOwn($0) }
        let words: [String] = ["lake"] + fuseOptions.flatMap { ["-o", $0] }
        var argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) }
        defer { argv.forEach { free($0) } }
        var args = argv.withUnsafeMutableBufferPointer { lake_fuse_args(Int32($0.count), $0.baseAddress) }
        let userdata = Unmanaged.passRetained(self).toOpaque()
        guard let session = fuse_session_new(&args, &ops, MemoryLayout<fuse_lowlevel_ops>.size, userdata) else {
            Unmanaged<FuseMount>.fromOpaque(userdata).release()
            throw .io("libfuse refused the mount options \(options.joined(separator: ","))")
        }
        fuse_opt_free_args(&args)
        // An account other than root mounts through fusermount3 and serves the descriptor it gets.
        var target = mountpoint
        if getuid() != 0 {
            do throws(FSError) { target = "/dev/fd/\(try Fusermount.mount(mountpoint, options: fuseOptions))" } catch {
                fuse_session_destroy(session)
                throw error
            }
            throughFusermount = true
        }
        guard fuse_session_mount(session, target) == 0 else {
            if throughFusermount { Fusermount.unmount(mountpoint) }
            fuse_session_destroy(session)
            throw .io("cannot mount at \(mountpoint) (is it an empty folder, and is /dev/fuse available?)")
        }
        self.session = session
        if lake_transport_install(session, ringWorkersPerCPU, wantsRing ? 1 : 0, busyPoll ? 1 : 0, wantsPassthrough ? 1 : 0) != 0 {
            logger.warning("libfuse refused Lake's transport hooks; serving /dev/fuse through libfuse alone")
        }
        if lake_transport_busy_polls() != 0 { logger.info("idle CPUs poll while requests flow (-o \(Self.noBusyPollOption) turns this off)") }
        // From here a signal ends the session instead of the process, so a daemon signalled as
        // soon as it reports itself ready (before `run()`) still takes its mount down.
        if lake_set_signal_handlers(session) != 0 { logger.warning("cannot install the exit signals' handlers: \(String(cString: strerror(errno)))") }
        do throws(ThreadStartError) {
            releaser = RemovedBlobReleaser(fs: fs) { [passthrough] in passthrough.releaseRemoved() }
            try releaser?.start()
            try fs.damagedPages.start { [weak self] node in self?.invalidate([.node(node)]) }
            guard watchesChanges else { return }
            watcher = ChangeWatcher(fs: fs) { [weak self] invalidations in self?.invalidate(invalidations) }
            try watcher?.start()
        } catch {
            // A mount whose threads could not all start (a process limit) is taken down again.
            unmount()
            throw .io("\(error)")
        }
    }

    /// Serves requests until unmounted or signalled (SIGTERM, SIGINT, SIGHUP, also before it was
    /// called), then unmounts.
    public func run(threads: UInt32 = 16) {
        guard let session else { return }
        let result = lake_fuse_loop_watched(session, threads)
        if result != 0 { logger.warning("the FUSE loop ended with \(result)") }
        logger.info("FUSE transport served: \(Self.transport)")
        logger.info("FUSE passthrough served: \(passthrough.opens) opens; the daemon answered \(storedFileReads.load(ordering: .relaxed)) reads of stored files")
        logger.info("FUSE passthrough backing files registered: \(passthrough.registrations)")
        logger.info("read ahead across files: \(fs.blobsReadAhead) blobs, \(fs.readsServedAsReadAhead) files served as read ahead and checked, \(fs.blobsCheckedButNotKept) checked but not kept")
        unmount()
    }

    /// Stops the mount's threads and takes the mount down (after `run`, or instead of it: a
    /// daemon whose services could not start).
    public func unmount() {
        guard let session else { return }
        watcher?.stop()
        releaser?.stop()
        fs.damagedPages.stop()
        lake_remove_signal_handlers()
        fuse_session_unmount(session)
        // Signalled rather than unmounted: libfuse cannot take down what fusermount3 mounted.
        if throughFusermount { Fusermount.unmount(mountpoint) }
        lake_transport_stop()
        fuse_session_destroy(session)
        self.session = nil
    }

    func invalidate(_ invalidations: [LakeFileSystem.Invalidation]) {
        guard let session else { return }
        for invalidation in invalidations {
            switch invalidation {
            case .node(let node):
                _ = fuse_lowlevel_notify_inval_inode(session, node, 0, 0)
            case .entry(let parent, let name):
                _ = name.bytes.withUnsafeBufferPointer { bytes in
                    bytes.withMemoryRebound(to: CChar.self) { fuse_lowlevel_notify_inval_entry(session, parent, $0.baseAddress, bytes.count) }
                }
            }
        }
    }

    /// What FUSE_INIT chooses for passthrough, for the log.
    var passthroughPlan: String { String(cString: lake_passthrough_plan()) }

    /// How requests reach this daemon, for the log and for tests: "io_uring (N CPU queues,
    /// M requests)" or "/dev/fuse (why)".
    public static var transport: String {
        let queues = lake_transport_ring_queues()
        if queues > 0 { return "io_uring (\(queues) CPU queues, \(lake_transport_ring_requests()) requests)" }
        return String(cString: lake_transport_plan())
    }

    static func from(_ req: fuse_req_t) -> FuseMount {
        Unmanaged<FuseMount>.fromOpaque(fuse_req_userdata(req)).takeUnretainedValue()
    }
}
