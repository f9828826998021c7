import ArgumentParser
import Glibc
import LakeCatalog
import LakeCore
import LakeModel
import LakeSystem

struct QuotaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quota",
        abstract: "Show what each account stores and what its quota allows (quotas in lake.json; docs/security.md).")

    @OptionGroup var options: StoreOptions

    @Option(help: "Only this account (a name or uid).")
    var user: String?

    @Flag(help: "Print JSON: {\"accounts\": [{uid, user, objects, bytes, limit: {objects, bytes} or null}]}.")
    var json = false

    struct Account: Encodable {
        let uid: UInt32
        let user: String
        let objects: Int64
        let bytes: Int64
        let limit: QuotaConfig.Limit?
    }

    struct Report: Encodable { let accounts: [Account] }

    func run() throws {
        try reportingErrors {
            let store = try options.openStore()
            let usage = try store.catalog.usageByOwner()
            let quotas = store.config.quotas
            var uids = Set(usage.keys)
            for name in quotas?.users.keys ?? [:].keys {
                if let uid = UInt32(name) { uids.insert(uid) } else if let found = getpwnam(name) { uids.insert(found.pointee.pw_uid) }
            }
            if let user {
                guard let uid = UInt32(user) ?? getpwnam(user).map({ $0.pointee.pw_uid }) else {
                    throw usageFailure("no account named '\(user)'")
                }
                uids = [uid]
            }
            // Another account sees its own use and limits only.
            let caller = LakeModel.Account.current
            if !caller.isRoot {
                if user != nil, uids != [caller.uid] { throw CatalogError.refused("\(caller.name) may see only its own use of the store") }
                uids = [caller.uid]
            }
            let accounts = uids.sorted().map { uid in
                Account(uid: uid, user: SystemUser.name(uid: uid), objects: usage[uid]?.objects ?? 0, bytes: usage[uid]?.bytes ?? 0,
                        limit: quotas?.limit(for: uid))
            }
            if json {
                print(LakeJSON.string(Report(accounts: accounts), pretty: true))
                return
            }
            func limit(_ value: Int64?, bytes: Bool) -> String {
                guard let value else { return "-" }
                return bytes ? ByteCount.text(value) : "\(value)"
            }
            print("account".padding(16) + "objects".padding(10) + "limit".padding(10) + "bytes".padding(12) + "limit")
            for account in accounts {
                print(account.user.padding(16) + "\(account.objects)".padding(10) + limit(account.limit?.objects, bytes: false).padding(10)
                      + ByteCount.text(account.bytes).padding(12) + limit(account.limit?.bytes, bytes: true))
            }
        }
    }
}
