import LakeCatalog
import LakeModel
import LakeSystem

extension Store {
    /// `chmod`/`chgrp` of an object, case or dataset (through the mount or the CLI): its new
    /// permission bits and group, recorded as a change. Who may is checked by the caller (the
    /// kernel, for the mount; the CLI itself otherwise).
    @discardableResult
    /// `by`: the account asking, when not this process's (a caller of the mount).
    public func changeAccess(_ id: LakeID, mode: UInt32?, gid: UInt32?, by uid: UInt32? = nil) throws -> Ownership {
        try catalog.changeAccess(id, mode: mode, gid: gid, by: uid.map { Actor(uid: $0, user: SystemUser.name(uid: $0)) }, at: .now)
    }
}
