import ArgumentParser
import LakeCore
import LakeModel

struct ObjectRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Move objects to the trash (kept trash_days, default 7); refused while a case or a manifest uses one.",
        discussion: """
            All the ids move in one step or none does: a manifest and its blocks are removed
            together (lake object rm VTM BLOCK…). Their receipts in incoming/ go with them.
            Restore with `lake trash restore ID`; `lake gc` frees bytes only once purged.
            """)
    @OptionGroup var options: StoreOptions
    @Argument(help: "Object ids.") var ids: [String]
    @Flag(help: "Print the removed objects as JSON.") var json = false

    func run() throws {
        guard !ids.isEmpty else { throw usageFailure("name the objects to remove: lake object rm ID…") }
        let ids = try (ids + LongCommandLines.rest()).map(objectID)
        try reportingErrors {
            let store = try options.openStore()
            let removed = try store.catalog.trashObjects(ids, at: .now)
            if json { return try printEntityJSON(removed, depth: 1) { $0 } }
            let days = store.config.trashDays
            print("Moved \(TrashText.count(removed.count)) to the trash (\(ByteCount.text(removed.reduce(0) { $0 + $1.size }))); "
                  + "purged after \(TrashText.days(days)); lake trash restore ID brings one back.")
        }
    }
}

struct TrashCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trash", abstract: "List, restore and purge objects removed with `lake object rm`.",
        subcommands: [TrashList.self, TrashRestore.self, TrashPurge.self])
}

struct TrashList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the trash, oldest first, with when each object is purged.")
    @OptionGroup var options: StoreOptions
    @Flag(help: "Print JSON: {\"trash\": [...]}.") var json = false

    func run() throws {
        try reportingErrors {
            let items = try Trash(store: try options.openStore()).items()
            if json { return print(LakeJSON.string(["trash": items], pretty: true)) }
            guard !items.isEmpty else { return print("The trash is empty.") }
            var lines = ["\("ID".padding(30)) \("SIZE".padding(10)) \("REMOVED".padding(20)) \("BY".padding(10)) \("PURGED AFTER".padding(20)) NAME"]
            for item in items {
                let trash = item.object.trash
                lines.append("\(item.object.id.rawValue.padding(30)) \(ByteCount.text(item.object.size).padding(10)) "
                             + "\(TrashText.time(trash?.trashedAt).padding(20)) \((trash?.trashedBy ?? "").padding(10)) "
                             + "\(TrashText.time(item.expiresAt).padding(20)) \(item.object.name)")
            }
            print(lines.joined(separator: "\n"))
        }
    }
}

struct TrashRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Bring objects back from the trash (a manifest together with its trashed blocks).")
    @OptionGroup var options: StoreOptions
    @Argument(help: "Object ids.") var ids: [String]
    @Flag(help: "Print the restored objects as JSON.") var json = false

    func run() throws {
        guard !ids.isEmpty else { throw usageFailure("name the objects to restore: lake trash restore ID… (lake trash ls lists them)") }
        let ids = try (ids + LongCommandLines.rest()).map(objectID)
        try reportingErrors {
            let restored = try options.openStore().catalog.restoreObjects(ids, at: .now)
            if json { return try printEntityJSON(restored, depth: 1) { $0 } }
            print("Restored \(TrashText.count(restored.count)) (their receipts in incoming/ do not come back).")
        }
    }
}

struct TrashPurge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "purge", abstract: "Delete objects in the trash for good; `lake gc` then frees bytes no other object uses.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "Object ids (or --expired, or --all).") var ids: [String] = []
    @Flag(help: "Purge the objects whose trash_days are over (what `lake gc` does first).") var expired = false
    @Flag(help: "Purge everything in the trash you may change.") var all = false
    @Flag(help: "Print the purged ids as JSON.") var json = false

    func run() throws {
        guard [!ids.isEmpty, expired, all].filter({ $0 }).count == 1 else {
            throw usageFailure("name what to purge: object ids, --expired or --all (lake trash ls lists the trash)")
        }
        let ids = try (ids + LongCommandLines.rest()).map(objectID)
        try reportingErrors {
            let store = try options.openStore()
            let trash = Trash(store: store)
            let purged: [LakeObject]
            if expired {
                purged = try trash.purgeExpired()
            } else {
                purged = try store.catalog.purgeObjects(all ? try trash.items().map(\.object.id) : ids, at: .now)
            }
            if json { return print(LakeJSON.string(["purged": purged.map(\.id)], pretty: true)) }
            print("Purged \(TrashText.count(purged.count)) (\(ByteCount.text(purged.reduce(0) { $0 + $1.size }))); "
                  + "lake gc frees the bytes no other object uses.")
        }
    }
}

enum TrashText {
    static func count(_ n: Int) -> String { "\(n) object\(n == 1 ? "" : "s")" }
    static func days(_ days: Double) -> String {
        let text = days == days.rounded() ? String(Int(days)) : String(days)
        return "\(text) day\(days == 1 ? "" : "s")"
    }
    static func time(_ time: Timestamp?) -> String { time.map { String($0.rfc3339.prefix(19)) + "Z" } ?? "" }
}
