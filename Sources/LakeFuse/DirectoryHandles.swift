import LakeFS
import Synchronization

/// Listings taken at opendir, paged out by readdir from that snapshot; and, where no OPENDIR
/// comes (a dataset mount), the listings of the folders read last, by inode.
final class DirectoryHandles: Sendable {
    private let state = Mutex<(next: UInt64, listings: [UInt64: [DirectoryEntry]])>((1, [:]))
    /// A folder is read in several READDIRs, one buffer each: its listing is made once for them.
    private let byNode = Mutex<(listings: [UInt64: [DirectoryEntry]], order: [UInt64])>(([:], []))
    static let listingsKept = 64

    func listing(of node: UInt64, make: () throws(FSError) -> [DirectoryEntry]) throws(FSError) -> [DirectoryEntry] {
        if let kept = byNode.withLock({ $0.listings[node] }) { return kept }
        let made = try make()
        byNode.withLock { kept in
            guard kept.listings[node] == nil else { return }
            kept.listings[node] = made
            kept.order.append(node)
            if kept.order.count > Self.listingsKept { kept.listings.removeValue(forKey: kept.order.removeFirst()) }
        }
        return made
    }

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
