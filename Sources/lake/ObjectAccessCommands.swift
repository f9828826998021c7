import ArgumentParser
import Glibc
import LakeCatalog
import LakeModel
import LakeSystem

/// Who may change an object's access: its owner or root, as `chmod` on a file.
private func changeAccess(_ ids: [String], options: StoreOptions, json: Bool,
                          _ change: (LakeObject) throws -> (mode: UInt32?, gid: UInt32?)) throws {
    let ids = try ids.map(objectID)
    try reportingErrors {
        let store = try options.openStore()
        for id in ids {
            guard let object = try store.catalog.object(id) else { throw CatalogError.notFound(id) }
            guard getuid() == 0 || object.owner.uid == getuid() else {
                throw CatalogError.refused("object \(id) belongs to \(SystemUser.name(uid: object.owner.uid)); only its owner or root may change who can read it")
            }
            let (mode, gid) = try change(object)
            let changed = try store.changeObjectAccess(id, mode: mode, gid: gid)
            print(json ? LakeJSON.string(changed, pretty: false) : "\(id)  \(SystemUser.name(uid: changed.owner.uid)):\(SystemGroup.name(gid: changed.owner.gid))  \(changed.owner.octal)")
        }
    }
}

struct ObjectChmod: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chmod",
        abstract: "Set who may read objects: permission bits in octal, as chmod (e.g. 640); owner or root only.")

    @OptionGroup var options: StoreOptions

    @Argument(help: "The permission bits, in octal (e.g. 640, 0444).")
    var mode: String

    @Argument(help: "The object ids.")
    var ids: [String]

    @Flag(help: "Print each changed object as one line of JSON.")
    var json = false

    func run() throws {
        guard let bits = UInt32(mode, radix: 8), bits <= 0o777 else {
            throw usageFailure("mode '\(mode)' is not octal permission bits (e.g. 640)")
        }
        try changeAccess(ids, options: options, json: json) { _ in (bits, nil) }
    }
}

struct ObjectChgrp: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chgrp",
        abstract: "Set the group of objects (a name or number); owner or root only, and the owner must belong to it.")

    @OptionGroup var options: StoreOptions

    @Argument(help: "The group: a name or a number.")
    var group: String

    @Argument(help: "The object ids.")
    var ids: [String]

    @Flag(help: "Print each changed object as one line of JSON.")
    var json = false

    func run() throws {
        let gid: gid_t
        if let number = gid_t(group) {
            gid = number
        } else if let found = getgrnam(group) {
            gid = found.pointee.gr_gid
        } else {
            throw usageFailure("no group named '\(group)'")
        }
        if getuid() != 0 {
            var groups = [gid_t](repeating: 0, count: Int(getgroups(0, nil)))
            let count = getgroups(Int32(groups.count), &groups)
            guard gid == getgid() || groups.prefix(Int(max(0, count))).contains(gid) else {
                throw usageFailure("you do not belong to group '\(group)'")
            }
        }
        try changeAccess(ids, options: options, json: json) { _ in (nil, gid) }
    }
}
