import LakeCatalog
import LakeModel

extension Store {
    /// `chmod`/`chgrp` of an object (through the mount or `lake object chmod|chgrp`): its new
    /// permission bits and group, recorded as a change. Who may is checked by the caller (the
    /// kernel, for the mount; the CLI runs as root or the object's owner).
    @discardableResult
    public func changeObjectAccess(_ id: LakeID, mode: UInt32?, gid: UInt32?) throws -> LakeObject {
        try catalog.updateObject(id, ObjectUpdate(mode: mode, gid: gid), at: .now)
    }
}
