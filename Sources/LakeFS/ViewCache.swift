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
        var views: [Int64: (view: ObjectView, stamp: UInt64)] = [:]
        var byID: [LakeID: Int64] = [:]
        /// Oldest first; an entry whose stamp no longer matches was removed or put again.
        var order: [(seq: Int64, stamp: UInt64)] = []
        var orderStart = 0
        var nextStamp: UInt64 = 0
        /// Views of manifests by the objects they show files of.
        var referencing: [LakeID: Set<Int64>] = [:]
    }

    private let state = Mutex(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ seq: Int64) -> ObjectView? { state.withLock { $0.views[seq]?.view } }

    func get(id: LakeID) -> ObjectView? {
        state.withLock { state in state.byID[id].flatMap { state.views[$0]?.view } }
    }

    var count: Int { state.withLock { $0.views.count } }
    /// Entries in the eviction order, live or dead (tests check it stays bounded).
    var entriesKept: Int { state.withLock { $0.order.count - $0.orderStart } }

    func put(_ seq: Int64, _ view: ObjectView) {
        let dropped = state.withLock { state -> Int in
            if let old = state.views[seq]?.view { Self.unlink(&state, seq, old) }
            state.nextStamp += 1
            state.views[seq] = (view, state.nextStamp)
            state.order.append((seq, state.nextStamp))
            state.byID[view.outline.id] = seq
            for child in view.outline.contentReferences.compactMap(\.objectId) { state.referencing[child, default: []].insert(seq) }
            var dropped = 0
            if state.views.count > capacity {
                let count = state.views.count / 2
                dropped = Self.dropOldest(&state) { dropped in dropped < count }
            }
            // Views removed by invalidations leave dead entries in the order: a daemon that runs
            // for weeks re-putting the same few views must not grow it without end.
            if state.order.count - state.orderStart > 2 * max(state.views.count, 1024) {
                state.order = state.order[state.orderStart...].filter { state.views[$0.seq]?.stamp == $0.stamp }
                state.orderStart = 0
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
        state.withLock { state in
            guard let view = state.views.removeValue(forKey: seq)?.view else { return nil }
            Self.unlink(&state, seq, view)
            return view
        }
    }

    /// Removes and returns the views that show files of any of `ids` (manifests).
    func removeReferencing(_ ids: Set<LakeID>) -> [ObjectView] {
        state.withLock { state in
            let seqs = Set(ids.flatMap { state.referencing[$0] ?? [] })
            return seqs.compactMap { seq in
                guard let view = state.views.removeValue(forKey: seq)?.view else { return nil }
                Self.unlink(&state, seq, view)
                return view
            }
        }
    }

    private static func unlink(_ state: inout State, _ seq: Int64, _ view: ObjectView) {
        if state.byID[view.outline.id] == seq { state.byID.removeValue(forKey: view.outline.id) }
        for child in view.outline.contentReferences.compactMap(\.objectId) {
            state.referencing[child]?.remove(seq)
            if state.referencing[child]?.isEmpty == true { state.referencing.removeValue(forKey: child) }
        }
    }

    /// Drops views oldest first while `more(droppedSoFar)` says so.
    private static func dropOldest(_ state: inout State, while more: (Int) -> Bool) -> Int {
        var dropped = 0
        while state.orderStart < state.order.count {
            let (seq, stamp) = state.order[state.orderStart]
            guard let entry = state.views[seq], entry.stamp == stamp else {
                state.orderStart += 1
                continue
            }
            guard more(dropped) else { break }
            state.orderStart += 1
            state.views.removeValue(forKey: seq)
            unlink(&state, seq, entry.view)
            dropped += 1
        }
        // Compact the order once its dead prefix outweighs what is live.
        if state.orderStart > state.order.count / 2 {
            state.order.removeFirst(state.orderStart)
            state.orderStart = 0
        }
        return dropped
    }
}
