import Foundation
import LakeTestSupport
import Testing

/// A small file copied into incoming/ is durable at its close through the catalog (one sync),
/// while its blob file is synced later in a batch. A crash in between loses nothing.
@Suite struct SettlingMountTests {
    func unsettled(_ mounted: MountedLake) throws -> Int {
        let query = "import sqlite3; print(sqlite3.connect('file:\(mounted.store)/catalog.sqlite?mode=ro', uri=True)"
            + ".execute('SELECT COUNT(*) FROM unsettled_blobs').fetchone()[0])"
        return Int(try Shell.run("python3 -c \"\(query)\"").output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func blobPath(_ mounted: MountedLake, _ sha: String) -> String {
        BlobFiles.path(store: mounted.store, id: sha)
    }

    @Test func theMountSettlesSmallUploadsInBatches() throws {
        let mounted = try MountedLake()
        try FileManager.default.createDirectory(atPath: mounted.lake.directory.file("many"), withIntermediateDirectories: true)
        for i in 0..<5 { mounted.lake.directory.writeRandom("many/f\(i).bin", size: 3_000 + i, seed: UInt64(40 + i)) }
        #expect(try Shell.run("cp -r '\(mounted.lake.directory.file("many"))' '\(mounted.path("incoming/"))'").status == 0)
        #expect(mounted.eventually(30) { (try? unsettled(mounted)) == 0 })
    }

    /// A crash after the close and before the batched sync: the blob file never reached the disk
    /// (removed here, as a power failure would lose it). The next mount writes it back.
    @Test(arguments: ["remount", "verify"])
    func aCrashBeforeTheSyncLosesNothing(then: String) throws {
        let mounted = try MountedLake(mount: false)
        try mounted.configure(["settle_seconds": 3600])
        try mounted.mount()
        let source = mounted.lake.directory.writeRandom("small.bin", size: 40_000, seed: 91)
        #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/"))'").status == 0)
        let id = try mounted.xattr("incoming/small.bin", "user.lake.id")
        #expect(try unsettled(mounted) == 1)
        #expect(try Shell.run("pkill -9 -f '[l]ake mount \(mounted.mountpoint) ' ; fusermount3 -uz '\(mounted.mountpoint)'").status == 0)
        let sha = try Shell.sha256(source)
        try FileManager.default.removeItem(atPath: blobPath(mounted, sha))
        if then == "verify" {
            let verify = try mounted.lake.run(["verify"])
            #expect(verify.succeeded && verify.stdout.contains("RESTORED  blob \(sha)"), "\(verify.stdout)")
        }
        try mounted.mount()
        #expect(try Shell.sha256(mounted.path("incoming/small.bin")) == sha)
        #expect(try Shell.sha256(mounted.path("objects/\(id)/file")) == sha)
        #expect(try unsettled(mounted) == 0)
        #expect(try mounted.lake.run(["verify"]).succeeded)
    }

    @Test func aCleanUnmountSettlesEverything() throws {
        let mounted = try MountedLake(mount: false)
        try mounted.configure(["settle_seconds": 3600])
        try mounted.mount()
        let source = mounted.lake.directory.writeRandom("s.bin", size: 1_000, seed: 92)
        #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/"))'").status == 0)
        #expect(try unsettled(mounted) == 1)
        #expect(try mounted.lake.run(["unmount", mounted.mountpoint], store: false).succeeded)
        #expect(mounted.eventually(10) { (try? unsettled(mounted)) == 0 })
    }

    /// `kill -9` of the daemon in the middle of `cp -r`: after a remount, every receipt that
    /// exists has its file's bytes, each is one object, nothing waits to be settled, and the
    /// store verifies clean (the dead daemon's spool files and owner lock are gone).
    @Test func aDaemonKilledDuringACopyLosesNothingItAcknowledged() throws {
        let mounted = try MountedLake()
        let tree = mounted.lake.directory.file("tree")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        for i in 0..<400 { mounted.lake.directory.writeRandom("tree/f\(i).bin", size: 2_000 + i * 13, seed: UInt64(500 + i)) }
        let copy = Process()
        copy.executableURL = URL(fileURLWithPath: "/bin/cp")
        copy.arguments = ["-r", tree, mounted.path("incoming/")]
        copy.standardError = FileHandle.nullDevice
        try copy.run()
        let copied = mounted.path("incoming/tree")
        #expect(mounted.eventually(60) { ((try? FileManager.default.contentsOfDirectory(atPath: copied))?.count ?? 0) >= 60 })
        #expect(try Shell.run("pkill -9 -f '[l]ake mount \(mounted.mountpoint) '").status == 0)
        copy.waitUntilExit()
        _ = try Shell.run("fusermount3 -uz '\(mounted.mountpoint)'")
        try mounted.mount()
        let names = try FileManager.default.contentsOfDirectory(atPath: copied)
        #expect(names.count >= 60)
        for name in names {
            #expect(try Shell.sha256("\(copied)/\(name)") == Shell.sha256("\(tree)/\(name)"), "\(name)")
        }
        let listed = try mounted.lake.json(try mounted.lake.run(["object", "ls", "--json", "--limit", "1000"]))
        #expect((listed["objects"] as? [[String: Any]])?.count == names.count)
        #expect(try unsettled(mounted) == 0)
        let verify = try mounted.lake.run(["verify"])
        #expect(verify.succeeded, "\(verify.stdout)")
        // The catalog's log was being written (gathered, one write per commit) when the daemon died.
        let check = "import sqlite3; print(sqlite3.connect('file:\(mounted.store)/catalog.sqlite?mode=ro', uri=True)"
            + ".execute('PRAGMA integrity_check').fetchone()[0])"
        #expect(try Shell.run("python3 -c \"\(check)\"").output.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
    }
}

