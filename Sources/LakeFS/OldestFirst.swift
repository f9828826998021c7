/// Keys in the order they were last added, for caches that drop their oldest. Adding a key that
/// is held makes it the newest. The order is an array with a moving head, and adding a key again
/// or removing it leaves a stale entry behind; stale entries are skipped when the oldest is taken
/// and removed in bulk once they outnumber the live ones. So a cache that runs for weeks over the
/// same keys — a loader reading one dataset epoch after epoch — keeps at most about twice as
/// many entries as keys, and each call costs O(1) on average. (Caches that only appended and
/// trimmed past their capacity grew without end, or scanned every entry on every addition, when
/// their keys came back before the capacity was reached.)
public struct OldestFirst<Key: Hashable> {
    // Inlinable, so that the mount's passthrough bookkeeping (another module) gets a version
    // specialised for its keys: unspecialised, each call hashed through witness tables and
    // looked up generic metadata, a few per cent of a daemon serving small files (perf).
    @usableFromInline var entries: [(key: Key, stamp: UInt64)] = []
    @usableFromInline var head = 0
    /// Each held key's stamp: only its entry with this stamp is live.
    @usableFromInline var stamps: [Key: UInt64] = [:]
    @usableFromInline var nextStamp: UInt64 = 0
    /// Stale entries are removed once entries outnumber twice the keys and this.
    @inlinable static var slack: Int { 512 }

    @inlinable public init() {}

    /// Keys held.
    @inlinable public var count: Int { stamps.count }

    /// Entries held, live and stale (tests check it stays bounded).
    @inlinable public var entriesKept: Int { entries.count - head }

    @inlinable public func contains(_ key: Key) -> Bool { stamps[key] != nil }

    /// Adds `key` as the newest (moving it there if it is held).
    @inlinable public mutating func add(_ key: Key) {
        // Already the newest (a tree asked again and again by one reader's lookups): a read, no
        // write — caches call this on every use.
        if let last = entries.last, last.key == key, stamps[key] == last.stamp { return }
        nextStamp += 1
        stamps[key] = nextStamp
        entries.append((key, nextStamp))
        if entriesKept > 2 * max(stamps.count, Self.slack) {
            entries = entries[head...].filter { stamps[$0.key] == $0.stamp }
            head = 0
        }
    }

    @inlinable public mutating func remove(_ key: Key) {
        stamps.removeValue(forKey: key)
    }

    /// The oldest key, left in place; nil when none is held.
    @inlinable public mutating func peekOldest() -> Key? {
        while head < entries.count {
            let entry = entries[head]
            if stamps[entry.key] == entry.stamp { return entry.key }
            head += 1
        }
        return nil
    }

    /// Removes and returns the oldest key; nil when none is held.
    @inlinable public mutating func takeOldest() -> Key? {
        defer {
            // The taken prefix is dropped once it is most of the array.
            if head > Self.slack, head * 2 > entries.count {
                entries.removeFirst(head)
                head = 0
            }
        }
        while head < entries.count {
            let entry = entries[head]
            head += 1
            if stamps[entry.key] == entry.stamp {
                stamps.removeValue(forKey: entry.key)
                return entry.key
            }
        }
        return nil
    }
}
