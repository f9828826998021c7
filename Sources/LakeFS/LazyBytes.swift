import LakeModel
import Synchronization

/// A value made the first time it is needed and then kept: a large case or dataset folder holds
/// thousands of `.json` files and xattr sets that are never read.
final class Lazy<Value: Sendable>: Sendable {
    private let make: @Sendable () -> Value
    private let onMade: (@Sendable (Value) -> Void)?
    private let made = Mutex<Value?>(nil)

    /// `onMade` is told of the value kept, exactly once (two threads may both make it; the first
    /// kept wins and both get it).
    init(_ make: @escaping @Sendable () -> Value, onMade: (@Sendable (Value) -> Void)? = nil) {
        self.make = make
        self.onMade = onMade
    }

    /// The value if it was made, without making it.
    var madeValue: Value? { made.withLock { $0 } }

    var value: Value {
        if let value = made.withLock({ $0 }) { return value }
        let value = make()
        return made.withLock { kept in
            if let earlier = kept { return earlier }
            kept = value
            onMade?(value)
            return value
        }
    }
}

typealias LazyBytes = Lazy<[UInt8]>
typealias LazyXattrs = Lazy<[String: [UInt8]]>

extension Lazy where Value == [UInt8] {
    /// The pretty JSON of `value` and a final newline, as the mount's `.json` files hold it.
    static func json<T: Encodable & Sendable>(_ value: T) -> LazyBytes {
        json { value }
    }

    /// The same, of a value read the first time the bytes are wanted.
    static func json<T: Encodable & Sendable>(_ make: @escaping @Sendable () -> T,
                                              onMade: (@Sendable ([UInt8]) -> Void)? = nil) -> LazyBytes {
        LazyBytes({ jsonLine(make()) }, onMade: onMade)
    }

    /// The pretty JSON of `value` and a final newline.
    static func jsonLine<T: Encodable>(_ value: T) -> [UInt8] {
        Array((LakeJSON.string(value, pretty: true) + "\n").utf8)
    }

    var bytes: [UInt8] { value }
}

extension Lazy where Value == [String: [UInt8]] {
    /// Bytes held by a made set of xattrs.
    static func weight(_ values: [String: [UInt8]]) -> Int { values.reduce(0) { $0 + $1.key.utf8.count + $1.value.count } }
}
