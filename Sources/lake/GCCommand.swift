import ArgumentParser
import LakeCore
import LakeModel

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Purge expired trash, then remove blobs no object uses and the leftovers of interrupted uploads.")

    @OptionGroup var options: StoreOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let report = try reportingErrors { try GarbageCollector(store: try options.openStore()).run() }
        if json {
            print(LakeJSON.string(report, pretty: true))
        } else {
            if !report.purgedObjects.isEmpty {
                print("Purged \(report.purgedObjects.count) object\(report.purgedObjects.count == 1 ? "" : "s") whose time in the trash was over.")
            }
            print("Removed \(report.removedBlobs.count) unused blob\(report.removedBlobs.count == 1 ? "" : "s") "
                + "(\(ByteCount.text(report.freedBytes))), \(report.reapedObjects.count) interrupted upload"
                + "\(report.reapedObjects.count == 1 ? "" : "s") and \(report.discardedUploads.count) spool leftover"
                + "\(report.discardedUploads.count == 1 ? "" : "s").")
        }
    }
}
