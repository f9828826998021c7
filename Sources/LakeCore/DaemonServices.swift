import Foundation
import LakeSystem
import Logging

/// What the mount daemon runs beside the filesystem: recovery before it serves, then the
/// processing worker, the blob scrubber, the settler of small uploads and the trash's purge. A mount of one frozen
/// dataset only reads, so it runs only the recovery (its blobs may be ones a crash kept from
/// the disk).
public final class DaemonServices: Sendable {
    public let store: Store
    /// Lets small uploads through the mount sync once per batch (`BlobSettler`).
    public let settler: BlobSettler
    private let scrubber: BlobScrubber
    private let processing: ProcessingLoop
    private let trash: TrashPurger
    /// Runs other accounts' `lake` commands (a root daemon only: docs/security.md).
    private let sessions: SessionServer
    private let logger: Logger
    private let readsOnly: Bool
    /// This daemon's session in a PostgreSQL catalog (every mount, a dataset's too: `lake status`
    /// lists them on every machine). None on the embedded SQLite catalog, one machine's, where
    /// `lake status` finds the mounts on the machine itself (`MountDaemons`): its renewal every
    /// 5 s was the only write of an idle daemon, three `fdatasync`s each time, for a week if it
    /// ran a week.
    private let heartbeat: NodeHeartbeat?

    /// Recovers what a crash left (interrupted uploads, unsettled blobs) before anything is served.
    public init(store: Store, logger: Logger, readsOnly: Bool, mountpoint: String) throws {
        self.store = store
        heartbeat = store.config.catalog == nil ? nil : NodeHeartbeat(store: store, mountpoint: mountpoint)
        self.readsOnly = readsOnly
        settler = BlobSettler(store: store, logger: logger)
        scrubber = BlobScrubber(store: store, logger: logger)
        processing = ProcessingLoop(store: store, logger: logger)
        trash = TrashPurger(store: store)
        sessions = SessionServer(storePath: store.root, logger: logger)
        self.logger = logger
        _ = try Recovery(store: store).run()
    }

    /// Starts every service's thread; throws, with those started stopped again, when one cannot
    /// be made (a process limit): a daemon without its settler would never make uploads durable.
    public func start() throws(ThreadStartError) {
        do {
            try heartbeat?.start()
            guard !readsOnly else { return }
            try processing.start()
            try scrubber.start()
            try settler.start()
            try trash.start()
        } catch {
            stop()
            throw error
        }
        if getuid() == 0 {
            do { try sessions.start() } catch {
                logger.warning("other accounts cannot run lake commands through this mount: \(error)")
            }
        }
    }

    /// Stops the scrubber and the settler (which settles what is left) and waits for them. The
    /// processing worker is not waited for: it may be in the middle of a large file, and its
    /// lease hands the object to the next worker if the process ends first.
    public func stop() {
        // Other accounts' sessions first: one begun while the rest stops would be served by a
        // daemon whose mount is gone (on a PostgreSQL catalog, ending the node's session there
        // took long enough for another account's `lake` to slip in after `lake unmount`).
        if !readsOnly { sessions.stop() }
        heartbeat?.stop()
        guard !readsOnly else { return }
        scrubber.stop()
        trash.stop()
        settler.stop()
    }
}
