import LakeFS
import Synchronization

/// Listings taken at opendir, paged out by readdir from that snapshot.
final class DirectoryHandles: Sendable {
    private let state = Mutex<(next: UInt64, listings: [UInt64: [DirectoryEntry]])>((1, [:]))

    func add(_ entries: [DirectoryEntry]) -> UInt64 {
        state.withLock { state in
            let handle = state.next
            state.next += 1
            state.listings[handle] = entries
            return handle
        }
    }

    func get(_ handle: UInt64) -> [DirectoryEntry]? { state.withLock { $0.listings[handle] } }
    func remove(_ handle: UInt64) { state.withLock { _ = $0.listings.removeValue(forKey: handle) } }
}
