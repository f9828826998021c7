import LakeSystem
import Synchronization

/// A value made on demand that can be forgotten and made again (a `Lazy`).
protocol Remade: AnyObject, Sendable {
    /// Drops the made value; the next reader makes it again.
    func forget()
}

/// The `object.json`s and xattr sets made for the mount, wherever they are held: an object's
/// view in the cache, a case or dataset tree that shows the object, a view kept by an open file.
/// Their bytes stay within `budget`; past it the oldest made are forgotten (made again from the
/// catalog if asked again; a settled object's are the same bytes). Holders are kept here while
/// their values are, so the bound holds whoever else keeps or drops them: a tree of 100,000
/// processed files whose every `object.json` was sized by `find -size` (31 KiB each) would
/// otherwise hold 3 GiB for as long as the tree is kept, and a budget that only the view cache
/// enforced, by dropping views, could not free bytes that trees held.
final class MadeValues: Sendable {
    private struct State {
        var order = OldestFirst<ObjectIdentifier>()
        var held: [ObjectIdentifier: (holder: any Remade, weight: Int)] = [:]
        var bytes = 0
        var forgottenSinceTrim = 0
    }

    private let state = Mutex(State())
    let budget: Int

    init(budget: Int) { self.budget = budget }

    /// Bytes of the values made and kept.
    var bytes: Int { state.withLock { $0.bytes } }
    /// Values made and kept.
    var count: Int { state.withLock { $0.held.count } }

    /// `holder` made a value of `weight` bytes: kept, and the oldest forgotten while the kept
    /// outweigh the budget (the newest always stays, however large).
    func made(_ holder: any Remade, weight: Int) {
        var forgotten: [any Remade] = []
        let trim = state.withLock { state -> Bool in
            let key = ObjectIdentifier(holder)
            if let old = state.held.updateValue((holder, weight), forKey: key) { state.bytes -= old.weight }
            state.bytes += weight
            state.order.add(key)
            while state.bytes > budget, state.held.count > 1, let oldest = state.order.takeOldest() {
                guard let entry = state.held.removeValue(forKey: oldest) else { continue }
                state.bytes -= entry.weight
                state.forgottenSinceTrim += entry.weight
                forgotten.append(entry.holder)
            }
            guard state.forgottenSinceTrim >= budget / 2 else { return false }
            state.forgottenSinceTrim = 0
            return true
        }
        // Outside the lock: forgetting takes each holder's own, which a reader may hold while
        // it reports a value made.
        for holder in forgotten { holder.forget() }
        if trim { Memory.releaseFreePagesNowAndThen() }
    }
}
