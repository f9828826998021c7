import LakeModel
import LakeSystem
import Synchronization

/// Object views by seq (and by id, so a lookup by name needs no catalog query), bounded by a
/// count: past it the oldest half goes (views are rebuilt from one narrow catalog read). A view
/// is under a KiB; the `object.json`s and xattrs views make, tens of KiB for a processed file,
/// are bounded apart (`MadeValues`). A byte budget here once counted both, and 50,000 plain
/// files' views outgrew it: a loader going through them in order found none of them kept (every
/// view rebuilt, every pass).
final class ViewCache: Sendable {
    private struct State {
        var views: [Int64: ObjectView] = [:]
        var byID: [LakeID: Int64] = [:]
        /// Seqs in the order their views were put.
        var order = OldestFirst<Int64>()
        /// Views of manifests by the objects they show files of.
        var referencing: [LakeID: Set<Int64>] = [:]
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ seq: Int64) -> ObjectView? { state.withLock { $0.views[seq] } }

    func get(id: LakeID) -> ObjectView? {
        state.withLock { state in state.byID[id].flatMap { state.views[$0] } }
    }

    var count: Int { state.withLock { $0.views.count } }
    /// Entries in the eviction order, live or dead (tests check it stays bounded).
    var entriesKept: Int { state.withLock { $0.order.entriesKept } }

    func put(_ seq: Int64, _ view: ObjectView) {
        let dropped = state.withLock { state -> Int in
            if let old = state.views[seq] { Self.unlink(&state, seq, old) }
            state.views[seq] = view
            state.order.add(seq)
            state.byID[view.outline.id] = seq
            for child in view.outline.contentReferences.compactMap(\.objectId) { state.referencing[child, default: []].insert(seq) }
            guard state.views.count > capacity else { return 0 }
            let count = state.views.count / 2
            var dropped = 0
            while dropped < count, let oldest = state.order.takeOldest() {
                guard let old = state.views.removeValue(forKey: oldest) else { continue }
                Self.unlink(&state, oldest, old)
                dropped += 1
            }
            return dropped
        }
        // Half the cache went at once, freed by whichever threads built those views into malloc
        // arenas of their own, which keep the pages: give them back (a 50,000-object lake read
        // cold pass after pass held 289 MiB, 188 once trimmed).
        if dropped > 0 { Memory.releaseFreePagesNowAndThen() }
    }

    @discardableResult
    func remove(_ seq: Int64) -> ObjectView? {
        state.withLock { state in Self.remove(&state, seq) }
    }

    /// Removes and returns the views that show files of any of `ids` (manifests).
    func removeReferencing(_ ids: Set<LakeID>) -> [ObjectView] {
        state.withLock { state in
            Set(ids.flatMap { state.referencing[$0] ?? [] }).compactMap { Self.remove(&state, $0) }
        }
    }

    private static func remove(_ state: inout State, _ seq: Int64) -> ObjectView? {
        guard let view = state.views.removeValue(forKey: seq) else { return nil }
        state.order.remove(seq)
        unlink(&state, seq, view)
        return view
    }

    private static func unlink(_ state: inout State, _ seq: Int64, _ view: ObjectView) {
        if state.byID[view.outline.id] == seq { state.byID.removeValue(forKey: view.outline.id) }
        for child in view.outline.contentReferences.compactMap(\.objectId) {
            state.referencing[child]?.remove(seq)
            if state.referencing[child]?.isEmpty == true { state.referencing.removeValue(forKey: child) }
        }
    }
}
