import LakeFormats
import LakeModel
import Synchronization

/// What a worker is processing now and how far it is, for a progress display on another thread
/// (`lake upload` on a terminal). `onBegin` runs on the worker's thread as an object starts, so a
/// display never misses one that finishes before its next tick.
public final class ProcessingWatch: Sendable {
    public struct Current: Sendable {
        public var object: LakeObject
        public var progress: ProcessingProgress
    }

    private let current = Mutex<Current?>(nil)
    private let onBegin: @Sendable (Current) -> Void

    public init(onBegin: @escaping @Sendable (Current) -> Void = { _ in }) {
        self.onBegin = onBegin
    }

    public var now: Current? { current.withLock { $0 } }

    func began(_ object: LakeObject, _ progress: ProcessingProgress) {
        let started = Current(object: object, progress: progress)
        current.withLock { $0 = started }
        onBegin(started)
    }

    func ended(_ object: LakeObject) {
        current.withLock { if $0?.object.id == object.id { $0 = nil } }
    }
}
