import ArgumentParser
import LakeCore
import LakeModel

struct ProcessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Process every object waiting in the queue (including ones whose worker died), then exit.")

    @OptionGroup var options: StoreOptions

    func run() throws {
        try reportingErrors {
            let store = try options.openStore()
            _ = try Recovery(store: store).run()
            // Each object's line needs no provisions: read back undecoded, a file of 20,000
            // fields would cost its whole JSON decoded (150 MB) just to print a status.
            let done = try ProcessingWorker(store: store).drainIDs().compactMap { try store.storedObject($0)?.object }
            for object in done { print(ObjectText.line(object)) }
            print("Processed \(done.count) object\(done.count == 1 ? "" : "s").")
            // What is still queued, and why this run could not take it.
            let now = Timestamp.now
            for queued in try store.catalog.queuedObjects() {
                print(ObjectText.held(queued, now: now))
            }
        }
    }
}
