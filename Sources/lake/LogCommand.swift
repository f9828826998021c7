import ArgumentParser
import Glibc
import LakeCatalog
import LakeModel
import LakeSystem

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "The audit trail: every create, update, delete, freeze, chmod and mount, newest first (append-only).")

    @OptionGroup var options: StoreOptions

    @Option(help: "Only what was done to this object, case or dataset.")
    var object: String?

    @Option(help: "Only what this account (a name or uid) did.")
    var user: String?

    @Option(help: "At most this many lines.")
    var limit = 100

    @Option(help: "Continue before this line (the seq of the last line shown).")
    var before: Int64?

    @Flag(help: "Print JSON: {\"entries\": [{seq, at, uid, user, action, id, details}]}.")
    var json = false

    struct Report: Encodable { let entries: [AuditEntry] }

    func run() throws {
        let id = try object.map { text in try parsing { () throws(InputError) in try LakeID(validating: text) } }
        var uid: UInt32?
        if let user {
            guard let found = UInt32(user) ?? getpwnam(user).map({ $0.pointee.pw_uid }) else {
                throw usageFailure("no account named '\(user)'")
            }
            uid = found
        }
        guard limit > 0 else { throw usageFailure("--limit must be at least 1") }
        try reportingErrors {
            let entries = try options.openStore().catalog.auditLog(id: id, uid: uid, limit: limit, before: before)
            if json {
                print(LakeJSON.string(Report(entries: entries), pretty: true))
                return
            }
            for entry in entries {
                let details = entry.details.isEmpty ? "" : "  " + LakeJSON.compactString(entry.details)
                print("\(entry.seq)  \(entry.at.rfc3339)  \(entry.user.padding(12)) \(entry.action.padding(16)) \(entry.id?.rawValue ?? "-")\(details)")
            }
        }
    }
}
