#if canImport(Glibc)
import Glibc
#endif
import LakeCatalog
import LakeModel

/// Brings freshly uploaded objects to a terminal status: processes them here, or waits while
/// another worker (a mount daemon) does. Objects whose format this build cannot process stay
/// queued and are returned as they are.
public struct ProcessingWait: Sendable {
    public let worker: ProcessingWorker
    public let pollSeconds: Double

    public init(worker: ProcessingWorker, pollSeconds: Double = 0.2) {
        self.worker = worker
        self.pollSeconds = pollSeconds
    }

    public func untilSettled(_ ids: [LakeID]) throws -> [LakeObject] {
        try untilSettled(ids, timeoutSeconds: nil).settled
    }

    /// Waits at most `timeoutSeconds` (nil: for as long as it takes); returns the objects that
    /// settled (in the order of `ids`) and the ids still waiting when the time ran out.
    public func untilSettled(_ ids: [LakeID], timeoutSeconds: Double?) throws -> (settled: [LakeObject], waiting: [LakeID]) {
        let deadline = timeoutSeconds.map { Timestamp.now.microseconds + Int64($0 * 1_000_000) }
        var waiting = ids
        var settled: [LakeID: LakeObject] = [:]
        while !waiting.isEmpty {
            // A window at a time: each claim's query reads the ids it may take, so claiming among
            // all of thousands of uploads grew with their square (manifests skipped because a block
            // is in a later window are taken on the next pass).
            for start in stride(from: 0, to: waiting.count, by: Self.window) {
                _ = try worker.drainIDs(among: Array(waiting[start..<min(waiting.count, start + Self.window)]))
            }
            var stillWaiting: [LakeID] = []
            for id in waiting {
                guard let object = try worker.store.catalog.object(id) else {
                    throw StoreError.unreadableConfig(path: worker.store.root, reason: "object \(id) vanished while processing (purged from the trash?)")
                }
                if !object.status.isTerminal, object.trash != nil {
                    throw CatalogError.refused("object \(id) is in the trash, so it is not processed; lake trash restore \(id) queues it again")
                }
                if object.status.isTerminal || !canProcess(object) {
                    settled[id] = object
                } else {
                    stillWaiting.append(id)
                }
            }
            waiting = stillWaiting
            // Looked at least once, so `--timeout 0` reports what is already settled.
            if let deadline, Timestamp.now.microseconds >= deadline { break }
            if !waiting.isEmpty { usleep(useconds_t(pollSeconds * 1_000_000)) }
        }
        return (ids.compactMap { settled[$0] }, waiting)
    }

    static let window = 64

    public func canProcess(_ object: LakeObject) -> Bool {
        worker.processors.formats.contains(object.format)
    }
}
