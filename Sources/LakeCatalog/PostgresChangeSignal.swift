import Foundation
import LakePostgres
import Synchronization

/// `LISTEN lake_changes` on a connection of its own: every transaction that records a change
/// notifies at its commit. A lost connection is made again at the next wait (meanwhile the
/// watcher polls, as it does without a signal).
final class PostgresChangeSignal: ChangeSignal {
    static let channel = "lake_changes"
    let url: String
    private let connection = Mutex<PostgresConnection?>(nil)

    init(url: String) { self.url = url }

    func wait(upTo timeout: Double) -> Bool {
        connection.withLock { connection in
            do {
                if connection == nil || connection!.isBroken {
                    let fresh = try PostgresConnection(url)
                    try fresh.listen(Self.channel)
                    connection = fresh
                    // Changes made while no one listened are the poll's to find.
                    return true
                }
                return try !connection!.notifications(waitingUpTo: timeout).isEmpty
            } catch {
                connection = nil
                usleep(UInt32(min(timeout, 1) * 1_000_000))
                return false
            }
        }
    }
}
