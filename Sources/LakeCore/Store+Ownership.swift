import LakeCatalog
import LakeModel

extension Store {
    /// `chmod`/`chgrp` of an object, case or dataset (through the mount or the CLI): its new
    /// permission bits and group, recorded as a change. Who may is checked by the caller (the
    /// kernel, for the mount; the CLI itself otherwise).
    @discardableResult
    public func changeAccess(_ id: LakeID, mode: UInt32?, gid: UInt32?) throws -> Ownership {
        try catalog.changeAccess(id, mode: mode, gid: gid, at: .now)
    }
}
