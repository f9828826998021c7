import Foundation
import LakeCore
import Logging

/// The mount daemon's processing worker: drains the queue, then naps briefly.
struct ProcessingLoop {
    let store: Store
    let logger: Logger

    func start() {
        let worker = ProcessingWorker(store: store)
        let logger = logger
        let thread = Thread {
            while true {
                do {
                    if try worker.drain().isEmpty { Thread.sleep(forTimeInterval: 0.2) }
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
