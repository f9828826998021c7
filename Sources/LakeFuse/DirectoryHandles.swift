import LakeFS
import Synchronization

/// Listings of open folders, taken at the first readdir and paged out by the next ones from
/// that snapshot; and, where no OPENDIR comes (a dataset mount), the listings of the folders
/// read last, by inode. Not at opendir: a folder whose listing the kernel keeps is opened
/// but never read (a second `find` over thousands of object folders made each listing anew).
final class DirectoryHandles: Sendable {
    private let state = Mutex<(next: UInt64, listings: [UInt64: [DirectoryEntry]?])>((1, [:]))
    /// A folder is read in several READDIRs, one buffer each: its listing is made once for them.
    private let byNode = Mutex<(listings: [UInt64: [DirectoryEntry]], order: [UInt64])>(([:], []))
    static let listingsKept = 64

    /// `fresh`: a listing read from its start is made anew (the folder may have changed since
    /// the kernel last read it); the READDIRs after it page out the one kept.
    func listing(of node: UInt64, fresh: Bool, make: () throws(FSError) -> [DirectoryEntry]) throws(FSError) -> [DirectoryEntry] {
        if !fresh, let kept = byNode.withLock({ $0.listings[node] }) { return kept }
        let made = try make()
        byNode.withLock { kept in
            if kept.listings.updateValue(made, forKey: node) != nil { return }
            kept.order.append(node)
            if kept.order.count > Self.listingsKept { kept.listings.removeValue(forKey: kept.order.removeFirst()) }
        }
        return made
    }

    /// A handle for an opened folder, its listing not yet taken.
    func add() -> UInt64 {
        state.withLock { state in
            let handle = state.next
            state.next += 1
            state.listings[handle] = .some(nil)
            return handle
        }
    }

    /// The handle's listing, taken now if this is its first readdir; nil for an unknown handle.
    func listing(_ handle: UInt64, make: () throws(FSError) -> [DirectoryEntry]) throws(FSError) -> [DirectoryEntry]? {
        guard let taken = state.withLock({ $0.listings[handle] }) else { return nil }
        if let taken { return taken }
        let made = try make()
        // Two readdirs of one handle at once (the kernel serialises them; a stray one may not):
        // the first listing kept wins, so every page comes from one snapshot.
        return state.withLock { state in
            guard let slot = state.listings[handle] else { return made }
            if let kept = slot { return kept }
            state.listings[handle] = made
            return made
        }
    }
    func remove(_ handle: UInt64) { state.withLock { _ = $0.listings.removeValue(forKey: handle) } }
}
