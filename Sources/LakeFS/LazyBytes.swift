import LakeModel
import Synchronization

/// A value made the first time it is needed and then kept: a large case or dataset folder holds
/// thousands of `.json` files and xattr sets that are never read.
final class Lazy<Value: Sendable>: Remade {
    private let make: @Sendable () -> Value
    private let counted: (made: MadeValues, weigh: @Sendable (Value) -> Int)?
    private let made = Mutex<Value?>(nil)

    /// `counted`: where the made value is kept within a budget (its weight told), and may be
    /// forgotten, to be made again when next wanted.
    init(_ make: @escaping @Sendable () -> Value, counted: (made: MadeValues, weigh: @Sendable (Value) -> Int)? = nil) {
        self.make = make
        self.counted = counted
    }

    /// The value if it was made (and not forgotten since), without making it.
    var madeValue: Value? { made.withLock { $0 } }

    /// Two threads may both make it; the first kept wins, both get it, and it is counted once.
    var value: Value {
        if let value = made.withLock({ $0 }) { return value }
        let value = make()
        let (kept, isNew) = made.withLock { kept -> (Value, Bool) in
            if let earlier = kept { return (earlier, false) }
            kept = value
            return (value, true)
        }
        if isNew, let counted { counted.made.made(self, weight: counted.weigh(kept)) }
        return kept
    }

    func forget() { made.withLock { $0 = nil } }
}

typealias LazyBytes = Lazy<[UInt8]>
typealias LazyXattrs = Lazy<[String: [UInt8]]>

extension Lazy where Value == [UInt8] {
    /// The pretty JSON of an object, case or dataset and a final newline, as the mount's `.json`
    /// files hold it (`entityJSONLine`), made the first time the bytes are wanted.
    static func entityJSON<E: HoldsProvisions & Encodable & Sendable>(_ entity: E) -> LazyBytes {
        LazyBytes { entityJSONLine(entity) }
    }

    /// Bytes made by `make`, kept within `made`'s budget.
    convenience init(_ make: @escaping @Sendable () -> [UInt8], made: MadeValues) {
        self.init(make, counted: (made, { $0.count }))
    }

    /// The pretty JSON of an object, case or dataset and a final newline, its provisions laid out
    /// from compact text (`EntityJSON`): through Foundation's encoder, sizing every `case.json`
    /// (`find -size`, `ls -l`) cost 10 ms a case of 50 fields.
    static func entityJSONLine<E: HoldsProvisions & Encodable>(_ entity: E) -> [UInt8] {
        // Cases and datasets hold their provisions decoded: nothing here can be unreadable.
        var bytes = (try? EntityJSON.bytes([entity], depth: 0) { $0[0] }) ?? Array(LakeJSON.data(entity, pretty: true))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    var bytes: [UInt8] { value }
}

extension Lazy where Value == [String: [UInt8]] {
    /// Bytes held by a made set of xattrs.
    static func weight(_ values: [String: [UInt8]]) -> Int { values.reduce(0) { $0 + $1.key.utf8.count + $1.value.count } }

    /// A set made by `make`, kept within `made`'s budget.
    convenience init(_ make: @escaping @Sendable () -> [String: [UInt8]], made: MadeValues) {
        self.init(make, counted: (made, Self.weight))
    }
}
