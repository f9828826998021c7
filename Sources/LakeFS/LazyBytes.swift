import LakeModel
import Synchronization

/// A value made the first time it is needed and then kept: a large case or dataset folder holds
/// thousands of `.json` files and xattr sets that are never read.
final class Lazy<Value: Sendable>: Sendable {
    private let make: @Sendable () -> Value
    private let made = Mutex<Value?>(nil)

    init(_ make: @escaping @Sendable () -> Value) { self.make = make }

    var value: Value {
        if let value = made.withLock({ $0 }) { return value }
        let value = make()
        made.withLock { $0 = value }
        return value
    }
}

typealias LazyBytes = Lazy<[UInt8]>
typealias LazyXattrs = Lazy<[String: [UInt8]]>

extension Lazy where Value == [UInt8] {
    /// The pretty JSON of `value` and a final newline, as the mount's `.json` files hold it.
    static func json<T: Encodable & Sendable>(_ value: T) -> LazyBytes {
        LazyBytes { Array((LakeJSON.string(value, pretty: true) + "\n").utf8) }
    }

    var bytes: [UInt8] { value }
}
