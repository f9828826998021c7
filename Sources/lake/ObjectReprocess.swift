import ArgumentParser
import LakeCore
import LakeModel

/// `lake object reprocess ID…`: FAILED objects back into the processing queue, then processed
/// here as `lake upload` does (unless --no-wait). For failures that were the machine's — a
/// descriptor or time limit, a bucket away — once the cause is fixed; the bytes stay as stored.
struct ObjectReprocess: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reprocess", abstract: "Process FAILED objects again (all or none), and wait for them unless --no-wait.",
        discussion: "Exit status: 0 when every object is READY (or queued, with --no-wait), 1 when any FAILED again.")

    @OptionGroup var options: StoreOptions
    @Argument(help: "Object ids.") var ids: [String]
    @Flag(help: "Return once the objects are queued (UPLOADED), without processing them.") var noWait = false
    @Flag(help: "Print the objects as JSON (an array).") var json = false

    func run() throws {
        guard !ids.isEmpty else { throw usageFailure("name the objects to process again: lake object reprocess ID…") }
        let ids = try (ids + LongCommandLines.rest()).map(objectID)
        let objects = try reportingErrors { () throws -> [LakeObject] in
            let store = try options.openStore()
            let queued = try Reprocessing(store: store).requeue(ids)
            if noWait { return queued }
            let display = ProcessingDisplay(sizes: queued.map(\.size))
            defer { display.stop() }
            return try ProcessingWait(worker: ProcessingWorker(store: store, watch: display.watch)).untilSettled(queued.map(\.id))
        }
        if json {
            try printEntityJSON(objects, depth: 1) { $0 }
        } else {
            for object in objects { print(ObjectText.line(object)) }
        }
        for object in objects where object.status == .failed {
            printError("\(object.file.name): processing failed again (object \(object.id)): \(object.failureReason ?? "no reason recorded")")
        }
        if objects.contains(where: { $0.status == .failed }) { throw ExitCode.failure }
    }
}
