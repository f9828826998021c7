import Foundation
import LakeSystem
import Logging

/// The mount daemon's processing worker: drains the queue, then naps briefly. When work stops,
/// it gives the memory the burst left free back to the system (once per burst).
public struct ProcessingLoop: Sendable {
    let store: Store
    let logger: Logger

    public init(store: Store, logger: Logger) {
        self.store = store
        self.logger = logger
    }

    public func start() {
        let worker = ProcessingWorker(store: store)
        let logger = logger
        let thread = Thread {
            // Processing is background work: uploads and reads through the mount come first
            // (on two cores, a worker at full priority halves the speed of `cp -r` of small files).
            ThreadPriority.lowerCurrent(to: 10)
            var busy = false
            while true {
                do {
                    if try worker.drainIDs().isEmpty {
                        if busy { Memory.releaseFreePages() }
                        busy = false
                        Thread.sleep(forTimeInterval: 0.2)
                    } else {
                        busy = true
                    }
                } catch {
                    logger.error("processing worker: \(error)")
                    Thread.sleep(forTimeInterval: 1)
                }
            }
        }
        thread.name = "lake-processing"
        thread.start()
    }
}
