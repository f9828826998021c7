import CFuse3
import CFuseRing
import Glibc
import LakeFS
import LakeSystem

/// The libfuse low-level callbacks. Each decodes its arguments, asks LakeFileSystem, replies.
enum Operations {
    static func table() -> fuse_lowlevel_ops {
        var ops = fuse_lowlevel_ops()
        ops.`init` = { userdata, conn in
            guard let conn else { return }
            let mount = userdata.map { Unmanaged<FuseMount>.fromOpaque($0).takeUnretainedValue() }
            Operations.configure(conn, changesWithoutOpens: mount.map { !$0.fs.opensNeeded && $0.watchesChanges } ?? false)
            if let mount {
                mount.logger.info("FUSE transport: \(String(cString: lake_transport_plan()))")
                mount.logger.info("FUSE passthrough: \(mount.passthroughPlan)")
            }
        }
        ops.destroy = { userdata in if let userdata { Unmanaged<FuseMount>.fromOpaque(userdata).release() } }
        ops.lookup = { req, parent, name in Operations.lookup(Request(req!), parent, FileName(cString: name!)) }
        ops.forget = { req, node, _ in
            // Inode numbers are stable and need no lookup counts; only what is kept for reading goes.
            let mount = FuseMount.from(req!)
            mount.passthrough.forget(node)
            mount.fs.forget(node)
            Request(req!).none()
        }
        ops.getattr = { req, node, _ in Operations.getattr(Request(req!), node) }
        ops.setattr = { req, node, attr, toSet, fi in Operations.setattr(Request(req!), node, attr!.pointee, toSet, fi?.pointee.fh) }
        ops.opendir = { req, node, fi in Operations.opendir(Request(req!), node, fi!) }
        ops.readdir = { req, node, size, offset, fi in Operations.readdir(Request(req!), node, size, offset, fi!.pointee.fh, plus: false) }
        ops.readdirplus = { req, node, size, offset, fi in Operations.readdir(Request(req!), node, size, offset, fi!.pointee.fh, plus: true) }
        ops.releasedir = { req, _, fi in
            FuseMount.from(req!).directories.remove(fi!.pointee.fh)
            Request(req!).ok()
        }
        ops.open = { req, node, fi in Operations.open(Request(req!), node, fi!) }
        ops.read = { req, node, size, offset, fi in Operations.read(Request(req!), node, fi!.pointee.fh, Int64(offset), size) }
        ops.write = { req, _, buffer, size, offset, fi in
            Operations.write(Request(req!), fi!.pointee.fh, UnsafeRawBufferPointer(start: buffer, count: size), Int64(offset))
        }
        ops.flush = { req, _, fi in Operations.flush(Request(req!), fi!.pointee.fh) }
        ops.fsync = { req, _, _, _ in Request(req!).ok() }
        ops.release = { req, _, fi in
            let mount = FuseMount.from(req!)
            mount.passthrough.release(fi!.pointee.fh)
            mount.fs.release(fi!.pointee.fh)
            Request(req!).ok()
        }
        ops.create = { req, parent, name, mode, fi in Operations.create(Request(req!), parent, FileName(cString: name!), UInt32(mode), fi!) }
        ops.mkdir = { req, parent, name, mode in Operations.mkdir(Request(req!), parent, FileName(cString: name!), UInt32(mode)) }
        ops.unlink = { req, parent, name in Operations.unlink(Request(req!), parent, FileName(cString: name!), folder: false) }
        ops.rmdir = { req, parent, name in Operations.unlink(Request(req!), parent, FileName(cString: name!), folder: true) }
        ops.rename = { req, parent, name, newParent, newName, flags in
            guard flags == 0 else { return Request(req!).fail(.invalid) }   // RENAME_NOREPLACE/EXCHANGE are not offered
            Operations.rename(Request(req!), parent, FileName(cString: name!), newParent, FileName(cString: newName!))
        }
        ops.mknod = { req, _, _, _, _ in Request(req!).fail(.readOnly) }
        ops.symlink = { req, _, _, _ in Request(req!).fail(.readOnly) }
        ops.link = { req, _, _, _ in Request(req!).fail(.readOnly) }
        ops.setxattr = { req, node, name, value, size, _ in
            let bytes = size > 0 && value != nil ? Array(UnsafeRawBufferPointer(start: value, count: size)) : []
            Operations.setxattr(Request(req!), node, String(cString: name!), bytes)
        }
        ops.removexattr = { req, node, name in
            Request(req!).fail(FuseMount.from(req!).fs.refuseXattrChange(node, name: String(cString: name!)))
        }
        ops.readlink = { req, node in Operations.readlink(Request(req!), node) }
        ops.getxattr = { req, node, name, size in Operations.getxattr(Request(req!), node, String(cString: name!), size) }
        ops.listxattr = { req, node, size in Operations.listxattr(Request(req!), node, size) }
        ops.statfs = { req, _ in Operations.statfs(Request(req!)) }
        return ops
    }

    /// `changesWithoutOpens`: a read-only mount of a lake that changes, whose files are never
    /// opened; the kernel then drops a file's kept pages when its size or time changes.
    static func configure(_ conn: UnsafeMutablePointer<fuse_conn_info>, changesWithoutOpens: Bool) {
        // No writeback cache: the kernel turns passthrough off beside it, and incoming/'s files
        // are opened for direct I/O (every write reaches the daemon, which must see each failure).
        let wanted = UInt32(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_READDIRPLUS
                            | FUSE_CAP_ASYNC_READ | FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_ATOMIC_O_TRUNC)
        conn.pointee.want |= conn.pointee.capable & wanted
        // Stored bytes never change behind the kernel's back (settled objects are immutable and
        // incoming/ changes only through this mount), so reads need no attribute re-checks.
        conn.pointee.want &= ~UInt32(FUSE_CAP_READDIRPLUS_AUTO | FUSE_CAP_AUTO_INVAL_DATA)
        // Without opens the kernel keeps every file's pages, even those of a file that changes
        // (a draft's case.json, the object.json of an object being processed); the catalog's
        // changes drop them (`ChangeWatcher`), and this catches what they do not name.
        if changesWithoutOpens { conn.pointee.want |= conn.pointee.capable & UInt32(FUSE_CAP_AUTO_INVAL_DATA) }
        conn.pointee.max_write = 1 << 20
        conn.pointee.max_readahead = 1 << 20
    }

    static func lookup(_ request: consuming Request, _ parent: fuse_ino_t, _ name: FileName) {
        let fs = FuseMount.from(request.raw).fs
        do {
            request.entry(try fs.lookup(parent: parent, name: name))
        } catch .notFound {
            let timeout = fs.negativeTimeout(parent: parent)
            if timeout > 0 { request.negative(timeout: timeout) } else { request.fail(.notFound) }
        } catch {
            request.fail(error)
        }
    }

    static func getattr(_ request: consuming Request, _ node: fuse_ino_t) {
        let fs = FuseMount.from(request.raw).fs
        do {
            request.attributes(try fs.attributes(node), timeout: fs.attributeTimeout(node))
        } catch {
            request.fail(error)
        }
    }

    static func setattr(_ request: consuming Request, _ node: fuse_ino_t, _ attr: stat, _ toSet: Int32, _ handle: UInt64?) {
        let fs = FuseMount.from(request.raw).fs
        func nanoseconds(_ time: timespec, now: Int32) -> Int64? {
            var time = time
            if toSet & now != 0 { clock_gettime(CLOCK_REALTIME, &time) }
            return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
        }
        var change = LakeFileSystem.AttributeChange()
        if toSet & FUSE_SET_ATTR_SIZE != 0 { change.size = Int64(attr.st_size) }
        if toSet & FUSE_SET_ATTR_MODE != 0 { change.mode = UInt32(attr.st_mode) & 0o7777 }
        if toSet & FUSE_SET_ATTR_UID != 0 { change.uid = attr.st_uid }
        if toSet & FUSE_SET_ATTR_GID != 0 { change.gid = attr.st_gid }
        if toSet & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW) != 0 {
            change.modified = nanoseconds(attr.st_mtim, now: FUSE_SET_ATTR_MTIME_NOW)
        }
        if toSet & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW) != 0 {
            change.accessed = nanoseconds(attr.st_atim, now: FUSE_SET_ATTR_ATIME_NOW)
        }
        do {
            request.attributes(try fs.setAttributes(node, change, handle: handle, caller: request.caller), timeout: 0)
        } catch {
            request.fail(error)
        }
    }

    static func opendir(_ request: consuming Request, _ node: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        let mount = FuseMount.from(request.raw)
        do throws(FSError) {
            try mount.fs.openDirectory(node)
            // The folder must exist (and be a folder); its listing waits for the first readdir.
            guard try mount.fs.attributes(node).kind == .directory else { throw .notDirectory }
            request.open(handle: mount.directories.add(), keepCache: true, cacheDirectory: mount.fs.listingIsStable(node))
        } catch {
            request.fail(error)
        }
    }

    /// The low-level protocol leaves `.` and `..` to the filesystem (`ls -a` shows them on
    /// every other one); the kernel resolves both itself, so the folder's own attributes do.
    static func listing(_ mount: FuseMount, _ node: fuse_ino_t) throws(FSError) -> [DirectoryEntry] {
        let own = try mount.fs.attributes(node)
        let dots = [DirectoryEntry(name: ".", attributes: own, timeout: 0), DirectoryEntry(name: "..", attributes: own, timeout: 0)]
        return dots + (try mount.fs.list(node))
    }

    static func readdir(_ request: consuming Request, _ node: fuse_ino_t, _ size: Int, _ offset: off_t, _ handle: UInt64, plus: Bool) {
        let mount = FuseMount.from(request.raw)
        let entries: [DirectoryEntry]
        if handle == 0 {
            // No OPENDIR came (a read-only or dataset mount): the folder's listing, made anew when
            // the kernel starts reading it (it asks again only after it was told of a change).
            do { entries = try mount.directories.listing(of: node, fresh: offset == 0) { () throws(FSError) in try listing(mount, node) } } catch {
                return request.fail(error)
            }
        } else {
            do {
                guard let listed = try mount.directories.listing(handle, make: { () throws(FSError) in try listing(mount, node) }) else {
                    return request.fail(.invalid)
                }
                entries = listed
            } catch {
                return request.fail(error)
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        var used = 0
        var index = Int(offset)
        while index < entries.count {
            let entry = entries[index]
            let base = buffer.baseAddress!.assumingMemoryBound(to: CChar.self) + used
            let needed: Int
            if plus {
                var parameters = Stat.entry(Entry(attributes: entry.attributes, timeout: entry.timeout))
                // Node 0: the kernel takes the name and kind only (no lookup counted), and asks
                // LOOKUP for the rest if anyone wants it.
                if !entry.isDescribed { parameters.ino = 0 }
                needed = entry.name.withCString { fuse_add_direntry_plus(request.raw, base, size - used, $0, &parameters, off_t(index + 1)) }
            } else {
                var info = Stat.make(entry.attributes)
                needed = entry.name.withCString { fuse_add_direntry(request.raw, base, size - used, $0, &info, off_t(index + 1)) }
            }
            if needed > size - used { break }
            used += needed
            index += 1
        }
        request.buffer(UnsafeRawBufferPointer(rebasing: buffer[..<used]))
    }

    static func open(_ request: consuming Request, _ node: fuse_ino_t, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        let mount = FuseMount.from(request.raw)
        do {
            let plan = try mount.fs.open(node, flags: fi.pointee.flags, caller: request.caller)
            if let descriptor = plan.backing, let backing = mount.passthrough.acquire(node: node, handle: plan.handle, descriptor: descriptor) {
                request.open(handle: plan.handle, backing: backing, flush: plan.needsFlush)
            } else {
                request.open(handle: plan.handle, caching: plan.caching, flush: plan.needsFlush)
            }
        } catch {
            request.fail(error)
        }
    }

    static func read(_ request: consuming Request, _ node: fuse_ino_t, _ handle: UInt64, _ offset: Int64, _ size: Int) {
        let mount = FuseMount.from(request.raw)
        do {
            // Handle 0: the file was never opened (a dataset mount answers OPEN with ENOSYS).
            let reply = handle == 0 ? try mount.fs.read(node: node, offset: offset, count: size, caller: request.caller)
                                    : try mount.fs.read(handle, node: node, offset: offset, count: size)
            switch reply {
            case .file(let descriptor, let offset, let count):
                mount.storedFileReads.add(1, ordering: .relaxed)
                request.file(descriptor: descriptor, offset: offset, count: count)
            case .checkedBytes(let bytes):
                mount.storedFileReads.add(1, ordering: .relaxed)
                request.bytes(bytes)
            case .bytes(let bytes): request.bytes(bytes)
            }
        } catch {
            request.fail(error)
        }
    }

    static func write(_ request: consuming Request, _ handle: UInt64, _ bytes: UnsafeRawBufferPointer, _ offset: Int64) {
        do {
            try FuseMount.from(request.raw).fs.write(handle, bytes, at: offset)
            request.written(bytes.count)
        } catch {
            request.fail(error)
        }
    }

    static func flush(_ request: consuming Request, _ handle: UInt64) {
        do {
            try FuseMount.from(request.raw).fs.flush(handle, caller: request.caller)
            request.ok()
        } catch {
            request.fail(error)
        }
    }

    static func create(_ request: consuming Request, _ parent: fuse_ino_t, _ name: FileName, _ mode: UInt32,
                       _ fi: UnsafeMutablePointer<fuse_file_info>) {
        do {
            let (entry, plan) = try FuseMount.from(request.raw).fs.create(parent: parent, name: name, mode: mode, caller: request.caller)
            request.created(entry, handle: plan.handle, caching: plan.caching)
        } catch {
            request.fail(error)
        }
    }

    static func mkdir(_ request: consuming Request, _ parent: fuse_ino_t, _ name: FileName, _ mode: UInt32) {
        do {
            request.entry(try FuseMount.from(request.raw).fs.makeDirectory(parent: parent, name: name, mode: mode, caller: request.caller))
        } catch {
            request.fail(error)
        }
    }

    static func unlink(_ request: consuming Request, _ parent: fuse_ino_t, _ name: FileName, folder: Bool) {
        let fs = FuseMount.from(request.raw).fs
        do {
            if folder { try fs.removeDirectory(parent: parent, name: name) } else { try fs.unlink(parent: parent, name: name) }
            request.ok()
        } catch {
            request.fail(error)
        }
    }

    static func rename(_ request: consuming Request, _ parent: fuse_ino_t, _ name: FileName, _ newParent: fuse_ino_t, _ newName: FileName) {
        do {
            try FuseMount.from(request.raw).fs.rename(parent: parent, name: name, to: newParent, newName: newName)
            request.ok()
        } catch {
            request.fail(error)
        }
    }

    static func readlink(_ request: consuming Request, _ node: fuse_ino_t) {
        do {
            request.link(try FuseMount.from(request.raw).fs.readlink(node))
        } catch {
            request.fail(error)
        }
    }

    static func setxattr(_ request: consuming Request, _ node: fuse_ino_t, _ name: String, _ value: [UInt8]) {
        do {
            try FuseMount.from(request.raw).fs.setXattr(node, name: name, value: value)
            request.ok()
        } catch {
            request.fail(error)
        }
    }

    static func getxattr(_ request: consuming Request, _ node: fuse_ino_t, _ name: String, _ size: Int) {
        do {
            let value = try FuseMount.from(request.raw).fs.xattr(node, name: name)
            if size == 0 { return request.xattrSize(value.count) }
            guard value.count <= size else { return request.fail(.attributeTooLarge) }
            request.bytes(value)
        } catch {
            request.fail(error)
        }
    }

    static func listxattr(_ request: consuming Request, _ node: fuse_ino_t, _ size: Int) {
        do {
            let names = try FuseMount.from(request.raw).fs.xattrNames(node)
            let list: [UInt8] = names.flatMap { name -> [UInt8] in Array(name.utf8) + [0] }
            if size == 0 { return request.xattrSize(list.count) }
            guard list.count <= size else { return request.fail(.attributeTooLarge) }
            request.bytes(list)
        } catch {
            request.fail(error)
        }
    }

    static func statfs(_ request: consuming Request) {
        do {
            request.statfs(try FuseMount.from(request.raw).fs.fileSystemStatus())
        } catch {
            request.fail(error)
        }
    }
}
