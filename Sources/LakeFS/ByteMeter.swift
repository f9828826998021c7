import Synchronization

/// A running count of bytes held by many objects, each adding what it takes and taking it back
/// when it goes.
final class ByteMeter: Sendable {
    private let total = Atomic<Int>(0)

    func add(_ bytes: Int) { total.add(bytes, ordering: .relaxed) }
    var bytes: Int { total.load(ordering: .relaxed) }
}
