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
                guard current.allowsChanging(by: Account.current) else {
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
        let account = Account.current
        return Ownership(uid: account.uid, gid: account.gid, mode: bits)
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
        let account = Account.current
        guard account.isRoot || account.belongs(to: gid) else {
            throw usageFailure("\(account.name) does not belong to group '\(text)'")
        }
        return gid
    }
}

/// What `chmod`/`chgrp` change: objects, cases or datasets (one pair of commands for each).
protocol AccessKind {
    static var plural: String { get }
    /// What reading one through the mount covers.
    static var covers: String { get }
    static func id(_ text: String) throws -> LakeID
}

enum ObjectAccess: AccessKind {
    static let plural = "objects"
    static let covers = ""
    static func id(_ text: String) throws -> LakeID { try objectID(text) }
}

enum CaseAccess: AccessKind {
    static let plural = "cases"
    static let covers = " (and their members' files, with the members' own modes)"
    static func id(_ text: String) throws -> LakeID { try caseID(text) }
}

enum DatasetAccess: AccessKind {
    static let plural = "datasets"
    static let covers = " (and every file in them)"
    static func id(_ text: String) throws -> LakeID { try datasetID(text) }
}

struct AccessChmod<Kind: AccessKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "chmod",
                             abstract: "Set who may read \(Kind.plural)\(Kind.covers) through the mount: octal permission bits (e.g. 640); owner or root only.")
    }
    @OptionGroup var options: StoreOptions
    @Argument(help: "The permission bits, in octal.") var mode: String
    @Argument(help: "The ids.") var ids: [String]
    @Flag(help: "Print one line of JSON per id.") var json = false
    func run() throws {
        try AccessChange.apply(try (ids + LongCommandLines.rest()).map(Kind.id), options: options, json: json, mode: try AccessChange.mode(mode), gid: nil)
    }
}

struct AccessChgrp<Kind: AccessKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: "chgrp", abstract: "Set the group of \(Kind.plural) (a name or number); owner (a member of it) or root only.")
    }
    @OptionGroup var options: StoreOptions
    @Argument(help: "The group.") var group: String
    @Argument(help: "The ids.") var ids: [String]
    @Flag(help: "Print one line of JSON per id.") var json = false
    func run() throws {
        try AccessChange.apply(try (ids + LongCommandLines.rest()).map(Kind.id), options: options, json: json, mode: nil, gid: try AccessChange.group(group))
    }
}
