import ArgumentParser
import LakeCore
import LakeModel

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-hash every blob and check the catalog against the stored bytes; exit 1 when anything is wrong.")

    @OptionGroup var options: StoreOptions

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let report = try reportingErrors { try Verifier(store: try options.openStore()).run() }
        if json {
            print(LakeJSON.string(report, pretty: true))
        } else {
            for blob in report.restoredBlobs {
                print("RESTORED  blob \(blob) from the catalog (a crash came before its file reached the disk)")
            }
            print("Checked \(report.checkedBlobs) blob\(report.checkedBlobs == 1 ? "" : "s") (\(ByteCount.text(report.checkedBytes))).")
            for problem in report.missing {
                print("MISSING   blob \(problem.blob) used by \(problem.objects.map(\.rawValue).joined(separator: ", ")): \(problem.reason)")
            }
            for problem in report.corrupt {
                print("CORRUPT   blob \(problem.blob) used by \(problem.objects.map(\.rawValue).joined(separator: ", ")): \(problem.reason)")
            }
            for problem in report.unchecked {
                print("UNCHECKED blob \(problem.blob) used by \(problem.objects.map(\.rawValue).joined(separator: ", ")): \(problem.reason)")
            }
            for blob in report.orphanedFiles { print("ORPHANED  blob file \(blob) is not in the catalog (lake gc removes it)") }
            for blob in report.unreferencedBlobs { print("UNUSED    blob \(blob) is used by no object (lake gc removes it)") }
            for id in report.interruptedUploads { print("LEFTOVER  object \(id) is an interrupted upload (lake gc removes it)") }
            for session in report.abandonedSpool { print("LEFTOVER  spool files of interrupted upload \(session) (lake gc removes them)") }
            for path in report.strayFiles { print("STRAY     \(path) does not belong in blobs/") }
            print(report.isClean ? "OK: every blob is intact and accounted for." : "PROBLEMS found.")
        }
        if !report.isClean { throw ExitCode.failure }
    }
}
