import Foundation
import LakeSystem
import Logging

/// The mount daemon's processing worker: processes what is queued, then naps briefly. When work
/// stops, it gives the memory the burst left free back to the system (once per burst).
///
/// It gives way to uploads through the mount: while files are being stored it waits until none
/// has been stored for `yielding.quiet` seconds, but never longer than `yielding.atMost`; after
/// such a wait ran out it processes for `yielding.turn` seconds before giving way again, so a
/// lake that receives files without pause still processes them.
public final class ProcessingLoop: Sendable {
    public struct Yielding: Sendable {
        public var quiet: Double
        public var atMost: Double
        public var turn: Double
        public init(quiet: Double, atMost: Double, turn: Double) {
            self.quiet = quiet
            self.atMost = atMost
            self.turn = turn
        }
        /// With both cores busy copying, a tenth of the time goes to processing.
        public static let standard = Yielding(quiet: 0.25, atMost: 9, turn: 1)
    }

    let store: Store
    let logger: Logger
    let yielding: Yielding
    private let thread = BackgroundThread(name: "lake-processing")

    public init(store: Store, logger: Logger, yielding: Yielding = .standard) {
        self.store = store
        self.logger = logger
        self.yielding = yielding
    }

    public func start() throws(ThreadStartError) {
        try thread.start { [self] thread in
            // Processing is background work: uploads and reads through the mount come first
            // (on two cores, a worker at full priority halves the speed of `cp -r` of small files).
            ThreadPriority.lowerCurrent(to: 10)
            run(thread)
        }
    }

    /// Ends the loop after the object in hand (the daemon does not wait for this: its leases
    /// hand unfinished objects to the next worker).
    public func stop() {
        thread.stop()
    }

    private func run(_ thread: BackgroundThread) {
        let worker = ProcessingWorker(store: store)
        var busy = false
        /// Until when it processes without giving way (a turn after a wait that ran out).
        var turnEnds = DispatchTime(uptimeNanoseconds: 0)
        while thread.pause(0, wakeable: false) {
            if DispatchTime.now() >= turnEnds, !store.uploads.isQuiet(for: yielding.quiet),
               !store.uploads.waitForQuiet(yielding.quiet, atMost: yielding.atMost) {
                turnEnds = .now() + yielding.turn
            }
            do {
                if try worker.processOne() == nil {
                    if busy { Memory.releaseFreePages() }
                    busy = false
                    thread.pause(0.2, wakeable: false)
                } else {
                    busy = true
                }
            } catch {
                logger.error("processing worker: \(error)")
                thread.pause(1, wakeable: false)
            }
        }
    }
}
