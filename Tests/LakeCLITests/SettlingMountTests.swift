import Foundation
import LakeSystem
import LakeTestSupport
import Testing

/// A small file (at most 32 KiB) copied into incoming/ is durable at its close through the
/// catalog (one sync), while its blob file is synced later in a batch. A larger one is recorded
/// while its blob file's syncs run; its close returns once both are done, and the daemon forgets
/// the marks of synced blobs in batches. A crash in between loses nothing that was acknowledged;
/// a marked blob that did not reach the disk takes its (never acknowledged) object with it.
@Suite(.disabled(if: ClusterStores.isOn, "the embedded store's settling of local blobs and its marks"))
struct SettlingMountTests {
    func count(_ mounted: MountedLake, _ table: String) throws -> Int {
        let query = "import sqlite3; print(sqlite3.connect('file:\(mounted.store)/catalog.sqlite?mode=ro', uri=True)"
            + ".execute('SELECT COUNT(*) FROM \(table)').fetchone()[0])"
        return Int(try Shell.run("python3 -c \"\(query)\"").output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func unsynced(_ mounted: MountedLake) throws -> Int { try count(mounted, "unsynced_blobs") }
    func unsettled(_ mounted: MountedLake) throws -> Int { try count(mounted, "unsettled_blobs") }

    func blobPath(_ mounted: MountedLake, _ sha: String) -> String {
        BlobFiles.path(store: mounted.store, id: sha)
    }

    /// A mount that settles and forgets marks only once an hour: what a commit leaves stays
    /// visible until the test looks (or kills the daemon).
    func mountedSettlingHourly() throws -> MountedLake {
        let mounted = try MountedLake(mount: false)
        try mounted.configure(["settle_seconds": 3600])
        try mounted.mount()
        return mounted
    }

    func killDaemon(_ mounted: MountedLake) throws {
        #expect(try Shell.run("pkill -9 -f '[l]ake mount \(mounted.mountpoint) ' ; fusermount3 -uz '\(mounted.mountpoint)'").status == 0)
    }

    /// A daemon with nothing to do writes nothing: once what a copy started is done (processing,
    /// the batched sync, the checkpoint), the catalog's files stay as they are. Its session's
    /// renewal, written every 5 s with three syncs, is kept for a PostgreSQL catalog, whose
    /// other machines have no other way to know it is alive.
    @Test func anIdleDaemonWritesNothing() throws {
        let mounted = try MountedLake()
        let source = mounted.lake.directory.writeRandom("small.bin", size: 2_000, seed: 97)
        #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/"))'").status == 0)
        // Stored, processed, synced, and its blob checked by the scrubber (a write, once a week).
        #expect(mounted.eventually(60) {
            (try? unsynced(mounted)) == 0 && (try? unsettled(mounted)) == 0
                && ((try? mounted.lake.json(try mounted.lake.run(["status", "--json"])))?["objects"] as? [String: Int])
                    .map { $0["READY"] == 1 && $0.values.reduce(0, +) == 1 } == true
                && (try? count(mounted, "blobs WHERE checked_at IS NULL")) == 0
        })
        let files = ["catalog.sqlite", "catalog.sqlite-wal"].map { mounted.store + "/" + $0 }
        func stamp() -> [String] {
            files.map { path in
                let attributes = try? FileManager.default.attributesOfItem(atPath: path)
                return "\((attributes?[.size] as? NSNumber)?.int64Value ?? -1) \((attributes?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1)"
            }
        }
        // What the copy started ends: the files hold still for 3 s.
        var last = stamp(), since = Date()
        #expect(mounted.eventually(60) {
            let now = stamp()
            if now != last { (last, since) = (now, Date()) }
            return Date().timeIntervalSince(since) >= 3
        })
        let quiet = stamp()
        let changed = mounted.eventually(12) { stamp() != quiet }
        #expect(!changed, "an idle daemon wrote to its catalog: \(quiet) → \(stamp())")
        let status = try mounted.lake.json(try mounted.lake.run(["status", "--json"]))
        #expect((status["mounts"] as? [[String: Any]])?.count == 1, "\(status)")
    }

    @Test func theMountSettlesSmallUploadsAndForgetsMarksInBatches() throws {
        let mounted = try MountedLake()
        try FileManager.default.createDirectory(atPath: mounted.lake.directory.file("many"), withIntermediateDirectories: true)
        for i in 0..<5 { mounted.lake.directory.writeRandom("many/f\(i).bin", size: 3_000 + i * 40_000, seed: UInt64(40 + i)) }
        #expect(try Shell.run("cp -r '\(mounted.lake.directory.file("many"))' '\(mounted.path("incoming/"))'").status == 0)
        #expect(mounted.eventually(30) { (try? unsynced(mounted)) == 0 && (try? unsettled(mounted)) == 0 })
    }

    /// A crash after a small file's close and before the batched sync: the blob file never
    /// reached the disk (removed here, as a power failure would lose it). The next mount (or
    /// `lake verify`) writes it back.
    @Test(arguments: ["remount", "verify"])
    func aCrashBeforeTheSyncLosesNoSmallFile(then: String) throws {
        let mounted = try mountedSettlingHourly()
        let source = mounted.lake.directory.writeRandom("small.bin", size: 20_000, seed: 95)
        #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/"))'").status == 0)
        let id = try mounted.xattr("incoming/small.bin", "user.lake.id")
        #expect(try unsettled(mounted) == 1)
        try killDaemon(mounted)
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

    /// `kill -9` after the close returned and before the daemon forgot the mark: the blob is
    /// intact, so the next start (a mount, or `lake gc`) syncs it again and keeps its object.
    @Test(arguments: ["remount", "gc"])
    func aCrashBeforeTheMarkIsForgottenLosesNothing(then: String) throws {
        let mounted = try mountedSettlingHourly()
        let source = mounted.lake.directory.writeRandom("small.bin", size: 40_000, seed: 91)
        #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/"))'").status == 0)
        let id = try mounted.xattr("incoming/small.bin", "user.lake.id")
        #expect(try unsynced(mounted) == 1)
        try killDaemon(mounted)
        if then == "gc" {
            #expect(try mounted.lake.run(["gc"]).succeeded)
            #expect(try unsynced(mounted) == 0)
        }
        try mounted.mount()
        let sha = try Shell.sha256(source)
        #expect(try Shell.sha256(mounted.path("incoming/small.bin")) == sha)
        #expect(try Shell.sha256(mounted.path("objects/\(id)/file")) == sha)
        #expect(try unsynced(mounted) == 0)
        #expect(try mounted.lake.run(["verify"]).succeeded)
    }

    /// The state a power failure leaves when it comes after the catalog recorded a file and
    /// before its blob's syncs ended (the close had not returned): the mark is there and the
    /// blob file is missing, empty or holds other bytes. The next mount removes the object and
    /// its receipt, records why, and the store verifies clean; another file is untouched.
    @Test(arguments: ["missing", "empty", "garbage"])
    func aBlobThatNeverReachedTheDiskTakesItsObjectWithIt(how: String) throws {
        let mounted = try mountedSettlingHourly()
        let lost = mounted.lake.directory.writeRandom("lost.bin", size: 70_000, seed: 93)
        let kept = mounted.lake.directory.writeRandom("kept.bin", size: 900, seed: 94)
        #expect(try Shell.run("cp '\(lost)' '\(kept)' '\(mounted.path("incoming/"))'").status == 0)
        let id = try mounted.xattr("incoming/lost.bin", "user.lake.id")
        #expect(try unsynced(mounted) == 1)
        #expect(try unsettled(mounted) == 1)
        try killDaemon(mounted)
        let path = blobPath(mounted, try Shell.sha256(lost))
        try FileManager.default.removeItem(atPath: path)
        switch how {
        case "empty": FileManager.default.createFile(atPath: path, contents: Data())
        case "garbage": FileManager.default.createFile(atPath: path, contents: Data(repeating: 0, count: 70_000))
        default: break
        }
        try mounted.mount()
        #expect(!FileManager.default.fileExists(atPath: mounted.path("incoming/lost.bin")))
        #expect(try Shell.sha256(mounted.path("incoming/kept.bin")) == Shell.sha256(kept))
        #expect(!(try mounted.lake.run(["object", "show", id])).succeeded)
        #expect(!FileManager.default.fileExists(atPath: path), "the damaged file nothing records is removed")
        #expect(try unsynced(mounted) == 0)
        let audit = try mounted.lake.run(["log", "--object", id])
        #expect(audit.stdout.contains("object.discard"), "\(audit.stdout)")
        let verify = try mounted.lake.run(["verify"])
        #expect(verify.succeeded, "\(verify.stdout)")
    }

    @Test func aCleanUnmountSettlesAndForgetsEverything() throws {
        let mounted = try mountedSettlingHourly()
        let small = mounted.lake.directory.writeRandom("s.bin", size: 1_000, seed: 92)
        let large = mounted.lake.directory.writeRandom("l.bin", size: 50_000, seed: 96)
        #expect(try Shell.run("cp '\(small)' '\(large)' '\(mounted.path("incoming/"))'").status == 0)
        #expect(try unsynced(mounted) == 1)
        #expect(try unsettled(mounted) == 1)
        #expect(try mounted.lake.run(["unmount", mounted.mountpoint], store: false).succeeded)
        #expect(mounted.eventually(30) { (try? unsynced(mounted)) == 0 && (try? unsettled(mounted)) == 0 })
    }

    /// `kill -9` of the daemon in the middle of `cp -r`: after a remount, every receipt that
    /// exists has its file's bytes, each is one object, no mark is left, and the store verifies
    /// clean (the dead daemon's spool files and owner lock are gone).
    @Test func aDaemonKilledDuringACopyLosesNothingItAcknowledged() throws {
        let mounted = try MountedLake()
        let tree = mounted.lake.directory.file("tree")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        // Small files and, every tenth, one above BlobSettling's threshold: both ways of committing.
        for i in 0..<400 { mounted.lake.directory.writeRandom("tree/f\(i).bin", size: i % 10 == 0 ? 40_000 + i : 2_000 + i * 13, seed: UInt64(500 + i)) }
        let copy = try ChildProcess("/bin/cp", ["-r", tree, mounted.path("incoming/")], errors: .null)
        let copied = mounted.path("incoming/tree")
        #expect(mounted.eventually(60) { ((try? FileManager.default.contentsOfDirectory(atPath: copied))?.count ?? 0) >= 60 })
        #expect(try Shell.run("pkill -9 -f '[l]ake mount \(mounted.mountpoint) '").status == 0)
        copy.wait()
        _ = try Shell.run("fusermount3 -uz '\(mounted.mountpoint)'")
        try mounted.mount()
        let names = try FileManager.default.contentsOfDirectory(atPath: copied)
        #expect(names.count >= 60)
        for name in names {
            #expect(try Shell.sha256("\(copied)/\(name)") == Shell.sha256("\(tree)/\(name)"), "\(name)")
        }
        let listed = try mounted.lake.json(try mounted.lake.run(["object", "ls", "--json", "--limit", "1000"]))
        #expect((listed["objects"] as? [[String: Any]])?.count == names.count)
        #expect(try unsynced(mounted) == 0)
        #expect(try unsettled(mounted) == 0)
        let verify = try mounted.lake.run(["verify"])
        #expect(verify.succeeded, "\(verify.stdout)")
        // The catalog's log was being written (gathered, one write per commit) when the daemon died.
        let check = "import sqlite3; print(sqlite3.connect('file:\(mounted.store)/catalog.sqlite?mode=ro', uri=True)"
            + ".execute('PRAGMA integrity_check').fetchone()[0])"
        #expect(try Shell.run("python3 -c \"\(check)\"").output.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")
    }
}
