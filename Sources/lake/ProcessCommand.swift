import ArgumentParser
import LakeCore

struct ProcessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "process",
        abstract: "Process every object waiting in the queue (including ones whose worker died), then exit.")

    @OptionGroup var options: StoreOptions

    func run() throws {
        try reportingErrors {
            let store = try options.openStore()
            _ = try Recovery(store: store).run()
            let done = try ProcessingWorker(store: store).drain()
            for object in done { print(ObjectText.line(object)) }
            print("Processed \(done.count) object\(done.count == 1 ? "" : "s").")
        }
    }
}
