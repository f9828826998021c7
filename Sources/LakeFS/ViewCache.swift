import LakeModel
import Synchronization

/// Object views by seq (and by id, so a lookup by name needs no catalog query), bounded: when
/// full, the oldest half is dropped (views are cheap to rebuild).
final class ViewCache: Sendable {
    private let state = Mutex<(views: [Int64: ObjectView], byID: [LakeID: Int64], order: [Int64])>(([:], [:], []))
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ seq: Int64) -> ObjectView? { state.withLock { $0.views[seq] } }

    func get(id: LakeID) -> ObjectView? {
        state.withLock { state in state.byID[id].flatMap { state.views[$0] } }
    }

    func put(_ seq: Int64, _ view: ObjectView) {
        state.withLock { state in
            if state.views.updateValue(view, forKey: seq) == nil { state.order.append(seq) }
            state.byID[view.object.id] = seq
            if state.order.count > capacity {
                let dropped = state.order.prefix(capacity / 2)
                for seq in dropped {
                    if let old = state.views.removeValue(forKey: seq) { state.byID.removeValue(forKey: old.object.id) }
                }
                state.order.removeFirst(dropped.count)
            }
        }
    }

    @discardableResult
    func remove(_ seq: Int64) -> ObjectView? {
        state.withLock { state in
            guard let view = state.views.removeValue(forKey: seq) else { return nil }
            state.byID.removeValue(forKey: view.object.id)
            state.order.removeAll { $0 == seq }
            return view
        }
    }

    func all() -> [(Int64, ObjectView)] { state.withLock { Array($0.views.map { ($0.key, $0.value) }) } }
}
