import Foundation
import Glibc
import LakeCatalog
import LakeCore
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFS

/// The filesystem core without a kernel: the calls the FUSE adapter makes, against a temporary
/// store. The real-mount tests (LakeCLITests) check the same behaviour through the kernel.
@Suite struct FileSystemCoreTests {
    let test: TestStore
    let fs: LakeFileSystem
    let caller = Caller(uid: 0, gid: 0, pid: getpid())

    init() throws {
        test = try TestStore()
        fs = LakeFileSystem(store: test.store, logger: TestLogger.make())
    }

    /// A fresh filesystem over the same store, as a remount sees it.
    func remount() throws -> LakeFileSystem {
        LakeFileSystem(store: try Store(opening: test.root, logger: TestLogger.make()), logger: TestLogger.make())
    }

    /// Writes a file into `parent` the way the kernel does: create, write, flush, release.
    @discardableResult
    func drop(_ name: FileName, _ bytes: [UInt8], in parent: UInt64 = NodeID.incoming, on fs: LakeFileSystem? = nil) throws -> UInt64 {
        let fs = fs ?? self.fs
        let (entry, plan) = try fs.create(parent: parent, name: name, mode: 0o644, caller: caller)
        #expect(plan.caching == .direct && plan.backing == nil, "uploads are written through the daemon")
        #expect(plan.needsFlush, "an upload is stored at its close, which must reach the daemon")
        try bytes.withUnsafeBytes { try fs.write(plan.handle, $0, at: 0) }
        try fs.flush(plan.handle, caller: caller)
        fs.release(plan.handle)
        return entry.node
    }

    func contents(_ node: UInt64, on fs: LakeFileSystem? = nil) throws -> [UInt8] {
        let fs = fs ?? self.fs
        let plan = try fs.open(node, flags: O_RDONLY, caller: caller)
        defer { fs.release(plan.handle) }
        #expect(!plan.needsFlush, "closing a file opened to read has nothing to tell the daemon")
        switch try fs.read(plan.handle, offset: 0, count: 1 << 20) {
        case .bytes(let bytes), .checkedBytes(let bytes): return bytes
        case .file(let descriptor, let offset, let count):
            var buffer = [UInt8](repeating: 0, count: count)
            let n = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, off_t(offset)) }
            return Array(buffer.prefix(max(0, n)))
        }
    }

    @Test func aDroppedFileBecomesAReceiptAndAnObject() throws {
        let node = try drop(FileName("run.txt"), Array("hello".utf8))
        let entry = try fs.lookup(parent: NodeID.incoming, name: FileName("run.txt"))
        #expect(entry.node == node && entry.attributes.size == 5)
        #expect(try contents(node) == Array("hello".utf8))
        let id = String(decoding: try fs.xattr(node, name: "user.lake.id"), as: UTF8.self)
        let object = try #require(try test.store.catalog.object(LakeID(unchecked: id)))
        #expect(object.status == .uploaded && object.size == 5)
        // objects/ lists it, read-only.
        #expect(try fs.list(NodeID.objects).map(\.name) == [FileName(id)])
        let folder = try fs.lookup(parent: NodeID.objects, name: FileName(id))
        #expect(throws: FSError.readOnly) { try fs.create(parent: folder.node, name: FileName("x"), mode: 0o644, caller: caller) }
        let file = try fs.lookup(parent: folder.node, name: FileName("file"))
        #expect(try contents(file.node) == Array("hello".utf8))
        #expect(try fs.open(file.node, flags: O_RDONLY, caller: caller).backing != nil, "a stored blob may be read by the kernel itself")
    }

    @Test func receiptsAndFoldersOutliveTheFilesystem() throws {
        let folder = try fs.makeDirectory(parent: NodeID.incoming, name: FileName("sub"), mode: 0o750, caller: caller)
        let node = try drop(FileName("a.bin"), [1, 2, 3], in: folder.node)
        _ = try fs.setAttributes(node, .init(mode: 0o600, uid: 65534, modified: 981_173_106_123_456_789), handle: nil, caller: caller)
        let again = try remount()
        let sub = try again.lookup(parent: NodeID.incoming, name: FileName("sub"))
        #expect(sub.node == folder.node && sub.attributes.mode == 0o750)
        let receipt = try again.lookup(parent: sub.node, name: FileName("a.bin"))
        #expect(receipt.node == node)
        #expect(receipt.attributes.mode == 0o600 && receipt.attributes.uid == 65534)
        #expect(receipt.attributes.exactModified == 981_173_106_123_456_789)
        #expect(try contents(receipt.node, on: again) == [1, 2, 3])
        try again.unlink(parent: sub.node, name: FileName("a.bin"))
        #expect(throws: FSError.notFound) { try remount().lookup(parent: sub.node, name: FileName("a.bin")) }
    }

    @Test func namesAreBytes() throws {
        let names = [FileName("café"), FileName(bytes: Array("cafe\u{301}".utf8)), FileName(bytes: [0x78, 0xFF]), FileName(bytes: [0x78, 0xFE])]
        for (i, name) in names.enumerated() { try drop(name, [UInt8(i)]) }
        #expect(Set(try fs.list(NodeID.incoming).map(\.name)) == Set(names))
        for (i, name) in names.enumerated() {
            #expect(try contents(try fs.lookup(parent: NodeID.incoming, name: name).node) == [UInt8(i)])
        }
        #expect(FileName(bytes: [0x78, 0xFF, 0x5C]).lossless == #"x\xff\\"#)
        #expect(FileName("plain é").lossless == "plain é")
    }

    @Test func dotFilesWaitForTheirRenameAndTruncationWorksWhileWriting() throws {
        let (_, plan) = try fs.create(parent: NodeID.incoming, name: FileName(".part"), mode: 0o644, caller: caller)
        try [UInt8](repeating: 7, count: 100).withUnsafeBytes { try fs.write(plan.handle, $0, at: 0) }
        _ = try fs.setAttributes(try fs.lookup(parent: NodeID.incoming, name: FileName(".part")).node, .init(size: 10), handle: plan.handle, caller: caller)
        try fs.flush(plan.handle, caller: caller)
        fs.release(plan.handle)
        let pending = try fs.lookup(parent: NodeID.incoming, name: FileName(".part"))
        #expect(throws: FSError.self) { try fs.open(pending.node, flags: O_RDONLY, caller: caller) }
        try fs.rename(parent: NodeID.incoming, name: FileName(".part"), to: NodeID.incoming, newName: FileName("final.bin"))
        let stored = try fs.lookup(parent: NodeID.incoming, name: FileName("final.bin"))
        #expect(stored.attributes.size == 10)
        #expect(try contents(stored.node) == [UInt8](repeating: 7, count: 10))
        // A stored receipt keeps its size.
        #expect(throws: FSError.unsupported) { try fs.setAttributes(stored.node, .init(size: 3), handle: nil, caller: caller) }
    }

    @Test func aWriteAfterTheCommittingCloseFailsAndTheReceiptStays() throws {
        let (entry, plan) = try fs.create(parent: NodeID.incoming, name: FileName("late.txt"), mode: 0o644, caller: caller)
        try Array("first".utf8).withUnsafeBytes { try fs.write(plan.handle, $0, at: 0) }
        try fs.flush(plan.handle, caller: caller)
        #expect(throws: FSError.self) { try Array("more".utf8).withUnsafeBytes { try fs.write(plan.handle, $0, at: 5) } }
        fs.release(plan.handle)
        #expect(try contents(entry.node) == Array("first".utf8))
    }

    /// The kernel sends RELEASE after close(2) has returned, so `cp` of the next file can arrive
    /// while a sidecar copied just before is still held open: its metadata goes with the file
    /// all the same (a busy CI machine lost it).
    @Test func aSidecarWhoseReleaseIsLateStillGivesItsMetadata() throws {
        let (_, plan) = try fs.create(parent: NodeID.incoming, name: FileName("run.stl.lake.json"), mode: 0o644, caller: caller)
        try Array(#"{"params": {"mach": 0.8}}"#.utf8).withUnsafeBytes { try fs.write(plan.handle, $0, at: 0) }
        try fs.flush(plan.handle, caller: caller)
        let file = try drop(FileName("run.stl"), Array(Fixtures.asciiSTL(triangles: 2).utf8))
        fs.release(plan.handle)
        let id = String(decoding: try fs.xattr(file, name: "user.lake.id"), as: UTF8.self)
        let object = try #require(try test.store.catalog.object(LakeID(unchecked: id)))
        #expect(object.params["mach"]?.value == .number(0.8), "\(object.params.keys)")
    }

    /// A file opened in objects/ answers `fstat` until it is closed, even when its object was
    /// changed (processed) and then removed and purged meanwhile: the daemon's cached view went
    /// at the change, so the removal found none to keep (a busy CI machine saw ENOENT).
    @Test func anOpenFileOfARemovedObjectStillHasAttributes() throws {
        let node = try drop(FileName("run.bin"), [UInt8](repeating: 7, count: 100))
        let id = LakeID(unchecked: String(decoding: try fs.xattr(node, name: "user.lake.id"), as: UTF8.self))
        let folder = try fs.lookup(parent: NodeID.objects, name: FileName(id.rawValue))
        let file = try fs.lookup(parent: folder.node, name: FileName("run.bin"))
        let plan = try fs.open(file.node, flags: O_RDONLY, caller: caller)
        _ = fs.invalidate([id])
        _ = try test.store.catalog.trashObjects([id], at: .now)
        _ = try test.store.catalog.purgeObjects([id], at: .now)
        _ = fs.invalidate([id])
        #expect(try fs.attributes(file.node).size == 100)
        fs.release(plan.handle)
        #expect(throws: FSError.notFound) { try fs.attributes(file.node) }
    }

    /// Renames a hostile script tries: a folder into itself, a file over a folder, a folder over a
    /// non-empty one. Each is refused and changes nothing, here and after a remount.
    @Test func impossibleRenamesAreRefused() throws {
        let a = try fs.makeDirectory(parent: NodeID.incoming, name: FileName("a"), mode: 0o755, caller: caller)
        let b = try fs.makeDirectory(parent: a.node, name: FileName("b"), mode: 0o755, caller: caller)
        try drop(FileName("f"), [1], in: b.node)
        try drop(FileName("g"), [2])
        #expect(throws: FSError.invalid) { try fs.rename(parent: NodeID.incoming, name: FileName("a"), to: b.node, newName: FileName("a")) }
        #expect(throws: FSError.isDirectory) { try fs.rename(parent: NodeID.incoming, name: FileName("g"), to: NodeID.incoming, newName: FileName("a")) }
        _ = try fs.makeDirectory(parent: NodeID.incoming, name: FileName("c"), mode: 0o755, caller: caller)
        #expect(throws: FSError.notEmpty) { try fs.rename(parent: NodeID.incoming, name: FileName("c"), to: a.node, newName: FileName("b")) }
        let again = try remount()
        #expect(try again.list(NodeID.incoming).map(\.name) == [FileName("a"), FileName("c"), FileName("g")])
        #expect(try again.list(b.node).map(\.name) == [FileName("f")])
    }

    @Test func statfsDescribesTheStoresDisk() throws {
        let status = try fs.fileSystemStatus()
        var direct = statvfs()
        #expect(statvfs(test.root, &direct) == 0)
        #expect(status.f_blocks == direct.f_blocks && status.f_bsize == direct.f_bsize && status.f_blocks > 0)
    }

    @Test func everyErrorHasOneErrno() {
        let table: [(FSError, Int32)] = [(.notFound, ENOENT), (.readOnly, EROFS), (.notDirectory, ENOTDIR), (.isDirectory, EISDIR),
                                         (.noAttribute, ENODATA), (.attributeTooLarge, ERANGE), (.exists, EEXIST),
                                         (.notEmpty, ENOTEMPTY), (.invalid, EINVAL), (.noSpace, ENOSPC), (.io("x"), EIO), (.damaged("x"), EIO),
                                         (.unsupported, ENOTSUP), (.namespaceUnsupported, ENOTSUP)]
        for (error, errno) in table { #expect(error.errno == errno, "\(error)") }
        #expect(fs.refuseXattrChange(NodeID.incoming, name: "user.x") == .namespaceUnsupported)
        #expect(fs.refuseXattrChange(NodeID.objects, name: "user.x") == .readOnly)
    }

    /// Two mounts of one store each keep their own incoming/; a name both write ends with the
    /// last writer's receipt, and a folder both make is one folder.
    @Test func twoMountsOfOneStoreDoNotCollide() throws {
        let other = try remount()
        _ = try fs.makeDirectory(parent: NodeID.incoming, name: FileName("d"), mode: 0o755, caller: caller)
        let theirs = try other.makeDirectory(parent: NodeID.incoming, name: FileName("d"), mode: 0o755, caller: caller)
        try drop(FileName("same.txt"), [1])
        try drop(FileName("same.txt"), [2], on: other)
        try drop(FileName("x"), [3], in: theirs.node, on: other)
        let third = try remount()
        #expect(try third.list(NodeID.incoming).map(\.name) == [FileName("d"), FileName("same.txt")])
        #expect(try contents(try third.lookup(parent: NodeID.incoming, name: FileName("same.txt")).node, on: third) == [2])
        let folder = try third.lookup(parent: NodeID.incoming, name: FileName("d"))
        #expect(try third.list(folder.node).map(\.name) == [FileName("x")])
    }

    /// One router: every inode number belongs to exactly one tree, by its range.
    @Test func everyInodeRangeHasOneTree() {
        func name(_ node: UInt64) -> String { String(describing: type(of: fs.tree(node))) }
        #expect(name(NodeID.root) == "RootTree")
        #expect(name(NodeID.incoming) == "IncomingTree" && name(NodeID.incomingBase + 7) == "IncomingTree")
        #expect(name(NodeID.objects) == "ObjectTree" && name(NodeID.object(42, local: 3)) == "ObjectTree")
        #expect(name(NodeID.cases) == "EntityTree" && name(NodeID.datasets) == "EntityTree")
        #expect(name(EntityTrees.base | 5 << EntityTrees.localBits) == "EntityTree")
        #expect(throws: FSError.notFound) { try fs.attributes(NodeID.object(42)) }
        #expect(throws: FSError.notFound) { try fs.attributes(NodeID.incomingBase + 999_999) }
        #expect(throws: FSError.isDirectory) { try fs.open(NodeID.cases, flags: O_RDONLY, caller: caller) }
    }

    /// A read-only filesystem: no incoming/, opens answered "not needed", reads by inode from a
    /// handle kept per inode, and a changed object.json read anew once the catalog's change is
    /// applied (the kept handle goes with it; without that the kernel would get the old bytes).
    @Test func aReadOnlyFilesystemReadsByInodeAndForgetsWhatChanged() throws {
        try drop(FileName("a.txt"), Array("hello".utf8))
        let readOnly = LakeFileSystem(store: test.store, logger: TestLogger.make(), readOnly: true)
        #expect(!readOnly.opensNeeded && fs.opensNeeded)
        #expect(try readOnly.list(NodeID.root).map(\.name) == ["objects", "cases", "datasets"].map(FileName.init))
        #expect(throws: FSError.notFound) { try readOnly.lookup(parent: NodeID.root, name: FileName("incoming")) }
        #expect(throws: FSError.notFound) { try readOnly.attributes(NodeID.incoming) }
        let id = try #require(try readOnly.list(NodeID.objects).first?.name)
        let folder = try readOnly.lookup(parent: NodeID.objects, name: id)
        let file = try readOnly.lookup(parent: folder.node, name: FileName("file"))
        let json = try readOnly.lookup(parent: folder.node, name: FileName("object.json"))
        #expect(throws: FSError.notNeeded) { try readOnly.open(file.node, flags: O_RDONLY, caller: caller) }
        #expect(throws: FSError.readOnly) { try readOnly.open(file.node, flags: O_WRONLY, caller: caller) }
        #expect(throws: FSError.notNeeded) { try readOnly.openDirectory(folder.node) }
        #expect(throws: FSError.invalid) { try fs.read(node: file.node, offset: 0, count: 10, caller: caller) }
        func read(_ node: UInt64) throws -> [UInt8] {
            switch try readOnly.read(node: node, offset: 0, count: 1 << 20, caller: caller) {
            case .bytes(let bytes), .checkedBytes(let bytes): return bytes
            case .file(let descriptor, let offset, let count):
                var buffer = [UInt8](repeating: 0, count: count)
                let n = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, off_t(offset)) }
                return Array(buffer.prefix(max(0, n)))
            }
        }
        #expect(try read(file.node) == Array("hello".utf8))
        let before = String(decoding: try read(json.node), as: UTF8.self)
        #expect(before.contains("\"name\" : \"a.txt\""))
        #expect(readOnly.nodeHandles.count == 2)

        let sequence = try test.store.changeSequence()
        _ = try test.store.catalog.updateObject(LakeID(unchecked: id.string!), ObjectUpdate(name: "renamed"), at: .now)
        // Still the kept bytes until the change is applied, as the kernel would still have them.
        #expect(String(decoding: try read(json.node), as: UTF8.self) == before)
        let invalidations = readOnly.invalidate(try test.store.changes(since: sequence).ids)
        #expect(invalidations.contains(.node(json.node)) && invalidations.contains(.node(NodeID.objects)))
        let firstNode = try #require(invalidations.firstIndex { if case .node = $0 { true } else { false } })
        #expect(!invalidations[firstNode...].contains { if case .entry = $0 { true } else { false } }, "names go before listings")
        #expect(String(decoding: try read(json.node), as: UTF8.self).contains("\"name\" : \"renamed\""))
    }
}
