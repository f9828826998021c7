import Foundation
import LakeSystem
import LakeCatalog
import LakeModel

/// The mount daemon's session in the catalog (`node_sessions`): registered when it starts,
/// renewed every `interval` seconds, removed when it stops cleanly. Each renewal also removes
/// the sessions of daemons silent for `staleAfter` seconds (their machine died or lost the
/// database), so `lake status` on any machine lists the daemons alive.
final class NodeHeartbeat: Sendable {
    static let interval = 5.0
    static let staleAfter = 30.0

    let session: NodeSession
    private let store: Store
    private let thread = BackgroundThread(name: "lake-heartbeat")

    init(store: Store, mountpoint: String) {
        self.store = store
        let now = Timestamp.now
        let host = SQLiteCatalog.host
        session = NodeSession(id: "\(host):\(getpid()):\(now.microseconds)", host: host, pid: getpid(), mountpoint: mountpoint,
                              startedAt: now, heartbeatAt: now)
    }

    func start() throws(ThreadStartError) {
        try thread.start { [store, session] thread in
            repeat {
                var beat = session
                beat.heartbeatAt = .now
                do {
                    let gone = try store.catalog.heartbeat(beat, staleBefore: beat.heartbeatAt.adding(seconds: -Self.staleAfter))
                    for stale in gone {
                        store.logger.warning("a mount daemon stopped answering; its session is removed",
                                             metadata: ["node": "\(stale.host)", "pid": "\(stale.pid)", "mountpoint": "\(stale.mountpoint)"])
                    }
                } catch {
                    store.logger.warning("cannot renew this mount's session in the catalog: \(error)")
                }
            } while thread.pause(Self.interval, wakeable: false)
        }
    }

    func stop() {
        thread.stop()
        do { try store.catalog.endSession(session.id) } catch {
            store.logger.warning("cannot remove this mount's session from the catalog: \(error)")
        }
    }
}
