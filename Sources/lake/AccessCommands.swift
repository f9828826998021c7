import ArgumentParser
import Glibc
import LakeCatalog
import LakeCore
import LakeModel
import LakeSystem

/// `chmod` and `chgrp` of objects, cases and datasets: who may read them through the mount.
/// Only the owner or root may change them, as with files; the owner never changes.
enum AccessChange {
    static func owner(of id: LakeID, in store: Store) throws -> Ownership {
        let found: Ownership?
        switch id.kind {
        case .object?: found = try store.catalog.object(id)?.owner
        case .case?: found = try store.catalog.case(id)?.owner
        case .dataset?: found = try store.catalog.dataset(id)?.owner
        case nil: found = nil
        }
        guard let found else { throw CatalogError.notFound(id) }
        return found
    }

    static func apply(_ ids: [LakeID], options: StoreOptions, json: Bool, mode: UInt32?, gid: UInt32?) throws {
        try reportingErrors {
            let store = try options.openStore()
            for id in ids {
                let current = try owner(of: id, in: store)
                guard getuid() == 0 || current.uid == getuid() else {
                    throw CatalogError.refused("\(id) belongs to \(SystemUser.name(uid: current.uid)); only its owner or root may change who can read it")
                }
                let changed = try store.changeAccess(id, mode: mode, gid: gid)
                if json {
                    print(LakeJSON.string(AccessLine(id: id, owner: changed), pretty: false))
                } else {
                    print("\(id)  \(SystemUser.name(uid: changed.uid)):\(SystemGroup.name(gid: changed.gid))  \(changed.octal)")
                }
            }
        }
    }

    struct AccessLine: Encodable {
        let id: LakeID
        let owner: Ownership
    }

    /// A new case's or dataset's owner: the caller, with `mode` or, as for a new file, 666 less
    /// the umask.
    static func creator(mode text: String?) throws -> Ownership {
        let bits: UInt32
        if let text {
            bits = try mode(text)
        } else {
            let mask = umask(0)
            umask(mask)
            bits = 0o666 & ~UInt32(mask)
        }
        return Ownership(uid: getuid(), gid: getgid(), mode: bits)
    }

    static func mode(_ text: String) throws -> UInt32 {
        guard let bits = UInt32(text, radix: 8), bits <= 0o777 else {
            throw usageFailure("mode '\(text)' is not octal permission bits (e.g. 640)")
        }
        return bits
    }

    /// A group by name or number; one the caller belongs to unless root.
    static func group(_ text: String) throws -> UInt32 {
        let gid: gid_t
        if let number = gid_t(text) {
            gid = number
        } else if let found = getgrnam(text) {
            gid = found.pointee.gr_gid
        } else {
            throw usageFailure("no group named '\(text)'")
        }
        if getuid() != 0 {
            var groups = [gid_t](repeating: 0, count: Int(max(0, getgroups(0, nil))))
            let count = getgroups(Int32(groups.count), &groups)
            guard gid == getgid() || groups.prefix(Int(max(0, count))).contains(gid) else {
                throw usageFailure("you do not belong to group '\(text)'")
            }
        }
        return gid
    }
}

struct ObjectChmod: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chmod",
        abstract: "Set who may read objects through the mount: octal permission bits (e.g. 640); owner or root only.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The permission bits, in octal.") var mode: String
    @Argument(help: "The object ids.") var ids: [String]
    @Flag(help: "Print one line of JSON per object.") var json = false
    func run() throws {
        try AccessChange.apply(try ids.map(objectID), options: options, json: json, mode: try AccessChange.mode(mode), gid: nil)
    }
}

struct ObjectChgrp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chgrp",
        abstract: "Set the group of objects (a name or number); owner (a member of it) or root only.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The group.") var group: String
    @Argument(help: "The object ids.") var ids: [String]
    @Flag(help: "Print one line of JSON per object.") var json = false
    func run() throws {
        try AccessChange.apply(try ids.map(objectID), options: options, json: json, mode: nil, gid: try AccessChange.group(group))
    }
}

struct CaseChmod: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chmod",
        abstract: "Set who may read cases (and their members' files) through the mount; owner or root only.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The permission bits, in octal.") var mode: String
    @Argument(help: "The case ids.") var ids: [String]
    @Flag(help: "Print one line of JSON per case.") var json = false
    func run() throws {
        try AccessChange.apply(try ids.map(caseID), options: options, json: json, mode: try AccessChange.mode(mode), gid: nil)
    }
}

struct CaseChgrp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chgrp",
        abstract: "Set the group of cases (a name or number); owner (a member of it) or root only.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The group.") var group: String
    @Argument(help: "The case ids.") var ids: [String]
    @Flag(help: "Print one line of JSON per case.") var json = false
    func run() throws {
        try AccessChange.apply(try ids.map(caseID), options: options, json: json, mode: nil, gid: try AccessChange.group(group))
    }
}

struct DatasetChmod: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chmod",
        abstract: "Set who may read datasets (and every file in them) through the mount; owner or root only.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The permission bits, in octal.") var mode: String
    @Argument(help: "The dataset ids.") var ids: [String]
    @Flag(help: "Print one line of JSON per dataset.") var json = false
    func run() throws {
        try AccessChange.apply(try ids.map(datasetID), options: options, json: json, mode: try AccessChange.mode(mode), gid: nil)
    }
}

struct DatasetChgrp: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "chgrp",
        abstract: "Set the group of datasets (a name or number); owner (a member of it) or root only.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The group.") var group: String
    @Argument(help: "The dataset ids.") var ids: [String]
    @Flag(help: "Print one line of JSON per dataset.") var json = false
    func run() throws {
        try AccessChange.apply(try ids.map(datasetID), options: options, json: json, mode: nil, gid: try AccessChange.group(group))
    }
}
