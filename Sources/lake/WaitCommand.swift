import ArgumentParser
import LakeCatalog
import LakeCore
import LakeModel

/// `lake wait ID…`: blocks until every object is READY or FAILED (processing them here when no
/// other worker does), so a script can follow `cp run.vtu /lake/incoming/` without polling xattrs.
struct WaitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until objects are processed (READY or FAILED).",
        discussion: "Exit status: 0 when every object is READY, 1 when any is FAILED (or unknown), 124 when --timeout passed first.")

    @OptionGroup var options: StoreOptions

    @Argument(help: "Object ids.")
    var ids: [String]

    @Option(help: "Give up after this many seconds (exit status 124).")
    var timeout: Double?

    @Flag(help: "Print the objects as JSON: {\"objects\": [...], \"waiting\": [ids]}.")
    var json = false

    func validate() throws {
        if ids.isEmpty { throw ValidationError("name at least one object id") }
        if let timeout, !(timeout >= 0) { throw ValidationError("--timeout takes a number of seconds, at least 0") }
    }

    func run() throws {
        let ids = try (self.ids + LongCommandLines.rest()).map { try objectID($0) }
        let (settled, waiting) = try reportingErrors {
            let store = try options.openStore()
            for id in ids where try store.catalog.object(id) == nil { throw CatalogError.notFound(id) }
            return try ProcessingWait(worker: ProcessingWorker(store: store)).untilSettled(ids, timeoutSeconds: timeout)
        }
        if json {
            try printEntityJSON(settled, depth: 2) { JSONView(objects: $0, waiting: waiting.map(\.rawValue)) }
        } else {
            for object in settled { print(ObjectText.line(object)) }
            for id in waiting { print("WAITING        \(id)  still waiting after \(timeout.map { "\($0)" } ?? "?") s") }
        }
        if !waiting.isEmpty { throw ExitCode(124) }
        if settled.contains(where: { $0.status != .ready }) { throw ExitCode.failure }
    }

    struct JSONView: Encodable {
        var objects: [LakeObject]
        var waiting: [String]
    }
}
