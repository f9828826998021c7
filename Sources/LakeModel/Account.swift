/// The account a command acts for: the process's own, or, in a session the mount daemon runs
/// for another account (`lake` without access to the store), the one the kernel says is at the
/// other end of the session socket.
public struct Account: Hashable, Sendable, Codable {
    public var uid: UInt32
    public var gid: UInt32
    /// Supplementary groups.
    public var groups: [UInt32]
    public var name: String

    public init(uid: UInt32, gid: UInt32, groups: [UInt32], name: String) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
        self.name = name
    }

    public var isRoot: Bool { uid == 0 }

    public func belongs(to group: UInt32) -> Bool { gid == group || groups.contains(group) }

    public var actor: Actor { Actor(uid: uid, user: name) }
}

extension Ownership {
    /// Whether `account` may read what this ownership covers, by the rule of files: the owner's
    /// bits for the owner, else the group's for a member, else the others'. Root always may.
    public func allowsReading(by account: Account) -> Bool {
        if account.isRoot { return true }
        if account.uid == uid { return mode & 0o400 != 0 }
        if account.belongs(to: gid) { return mode & 0o040 != 0 }
        return mode & 0o004 != 0
    }

    /// Whether `account` may change it (its mode, group, contents): its owner or root.
    public func allowsChanging(by account: Account) -> Bool {
        account.isRoot || account.uid == uid
    }
}
