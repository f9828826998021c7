import Synchronization

/// Object views by seq, bounded: when full, the oldest half is dropped (views are cheap to rebuild).
final class ViewCache: Sendable {
    private let state = Mutex<(views: [Int64: ObjectView], order: [Int64])>(([:], []))
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ seq: Int64) -> ObjectView? { state.withLock { $0.views[seq] } }

    func put(_ seq: Int64, _ view: ObjectView) {
        state.withLock { state in
            if state.views.updateValue(view, forKey: seq) == nil { state.order.append(seq) }
            if state.order.count > capacity {
                let dropped = state.order.prefix(capacity / 2)
                for seq in dropped { state.views.removeValue(forKey: seq) }
                state.order.removeFirst(dropped.count)
            }
        }
    }

    @discardableResult
    func remove(_ seq: Int64) -> ObjectView? {
        state.withLock { state in
            guard let view = state.views.removeValue(forKey: seq) else { return nil }
            state.order.removeAll { $0 == seq }
            return view
        }
    }

    func all() -> [(Int64, ObjectView)] { state.withLock { Array($0.views.map { ($0.key, $0.value) }) } }
}
