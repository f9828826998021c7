import Foundation
import LakeSystem
import LakeTestSupport
import Testing

/// `lake upload` of many files commits their blobs as the mount does: a small file's bytes go
/// into the catalog with its object and its blob file is synced with a batch; a larger file's
/// syncs overlap its transaction. Whatever the command reported stored is durable when it
/// returns, and a `kill -9` (with the unsynced files lost, as a power failure would lose them)
/// loses no object the catalog recorded.
@Suite(.disabled(if: ClusterStores.isOn, "looks into the embedded store's catalog and blob files"))
struct UploadBatchTests {
    /// Rows of a query of the store's catalog, read-only beside a running `lake`, `|` between columns.
    func query(_ lake: LakeBinary, _ sql: String) throws -> [String] {
        let script = "import sqlite3, sys\nfor row in sqlite3.connect('file:' + sys.argv[1] + '/catalog.sqlite?mode=ro', uri=True)"
            + ".execute(sys.argv[2]): print('|'.join(str(v) for v in row))"
        return try Command.output("/usr/bin/python3", ["-c", script, lake.store, sql]).split(separator: "\n").map(String.init)
    }

    func configure(_ lake: LakeBinary, _ settings: [String: Any]) throws {
        let config = lake.store + "/lake.json"
        var current = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as! [String: Any]
        current.merge(settings) { $1 }
        try JSONSerialization.data(withJSONObject: current).write(to: URL(fileURLWithPath: config))
    }

    /// Files of every size class at once, small ones (their bytes kept in the catalog until
    /// synced) among ones synced while recorded, and one large enough to be listed while it is
    /// uploaded: when the command returns, nothing waits to be synced and every blob holds its bytes.
    @Test func everythingIsSettledWhenTheCommandReturns() throws {
        let lake = LakeBinary()
        try lake.initStore()
        try configure(lake, ["settle_seconds": 3600])
        let sizes = [0, 1, 100, 4_096, 32 * 1024, 32 * 1024 + 1, 200_000, (1 << 20) + 5, 3 << 20] + (0..<120).map { 500 + $0 * 97 }
        try FileManager.default.createDirectory(atPath: lake.directory.file("in"), withIntermediateDirectories: true)
        let files = sizes.enumerated().map { index, size in lake.directory.writeRandom("in/f\(index).bin", size: size, seed: UInt64(300 + 2 * index)) }
        let run = try lake.run(["upload", "--no-wait", "--json"] + files)
        #expect(run.succeeded, "\(run.stderr)")
        let objects = try #require(try lake.json(run)["succeeded"] as? [[String: Any]])
        #expect(objects.count == files.count)
        for (object, file) in zip(objects, files) {
            let blob = (object["file"] as? [String: Any])?["blob"] as? [String: Any]
            #expect(blob?["id"] as? String == (try Shell.sha256(file)), "\(file)")
            #expect(object["status"] as? String == "UPLOADED")
        }
        #expect(try query(lake, "SELECT COUNT(*) FROM unsettled_blobs") == ["0"])
        #expect(try query(lake, "SELECT COUNT(*) FROM unsynced_blobs") == ["0"])
        #expect(try query(lake, "SELECT COUNT(*) FROM objects WHERE status = 'PENDING_UPLOAD'") == ["0"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: lake.store + "/spool").filter { $0.hasSuffix(".part") }.isEmpty)
        let verify = try lake.run(["verify"])
        #expect(verify.succeeded, "\(verify.stdout)")
    }

    /// `lake upload` of many files while the store is mounted and files are copied into its
    /// `incoming/`: two settlers (the command's, the daemon's) sync and forget the same table's
    /// rows. Every file of both arrives whole, nothing is left waiting, and the mount reads the
    /// uploaded files' bytes.
    @Test func aBatchBesideAMountThatSettlesToo() throws {
        let mounted = try MountedLake(mount: false)
        try configure(mounted.lake, ["settle_seconds": 0.05])
        try mounted.mount()
        let lake = mounted.lake
        for folder in ["cli", "copied"] {
            try FileManager.default.createDirectory(atPath: lake.directory.file(folder), withIntermediateDirectories: true)
        }
        let files = (0..<300).map { lake.directory.writeRandom("cli/c\($0).bin", size: 100 + $0 * 37, seed: UInt64(7_000 + 2 * $0)) }
        for index in 0..<300 { lake.directory.writeRandom("copied/m\(index).bin", size: 150 + index * 41, seed: UInt64(9_000 + 2 * index)) }
        let statuses = try Shell.parallel([
            "'\(LakeBinary.executable)' upload --no-wait --store '\(lake.store)' \(files.map { "'\($0)'" }.joined(separator: " ")) > /dev/null",
            "cp -r '\(lake.directory.file("copied"))' '\(mounted.path("incoming/"))'",
        ])
        #expect(statuses == [0, 0])
        #expect(mounted.eventually(30) { (try? query(lake, "SELECT COUNT(*) FROM unsettled_blobs")) == ["0"] })
        let stored = try query(lake, "SELECT name, blob_id FROM objects")
        #expect(stored.count == 600)
        for row in stored {
            let parts = row.split(separator: "|").map(String.init)
            try #require(parts.count == 2, "\(row)")
            let source = lake.directory.file((parts[0].hasPrefix("c") ? "cli/" : "copied/") + parts[0])
            #expect(try Shell.sha256(source) == parts[1], "\(row)")
        }
        let id = try #require(try query(lake, "SELECT id FROM objects WHERE name = 'c299.bin'").first)
        #expect(mounted.eventually(30) { (try? Shell.sha256(mounted.path("objects/\(id)/file"))) == (try? Shell.sha256(files[299])) })
        #expect(try lake.run(["verify"]).succeeded)
    }

    /// Many files onto a store whose disk fills up part way: the files that did not fit fail with
    /// the reason, every object reported holds its file's bytes, nothing is left half stored, and
    /// once space is back `lake gc` and `lake verify` find the store sound.
    @Test func manyFilesOntoAStoreThatFillsUp() throws {
        guard getuid() == 0 else { return }
        let lake = LakeBinary()
        let disk = lake.directory.file("small")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        try #require(try Shell.run("mount -t tmpfs -o size=24m tmpfs '\(disk)'").status == 0)
        defer { _ = try? Shell.run("umount -l '\(disk)'") }
        let store = disk + "/store"
        try #require(try lake.run(["init", "--store", store], store: false).succeeded)
        try Shell.run("head -c 12000000 /dev/zero > '\(disk)/filler'")
        try FileManager.default.createDirectory(atPath: lake.directory.file("many"), withIntermediateDirectories: true)
        let files = (0..<400).map { index in
            lake.directory.writeRandom("many/f\(index).bin", size: index % 4 == 0 ? 100_000 + index : 1_000 + index * 70, seed: UInt64(5_000 + 2 * index))
        }
        let run = try lake.run(["upload", "--no-wait", "--json", "--store", store] + files, store: false)
        #expect(run.status == 1)
        #expect(run.stderr.contains("no space left"), "\(run.stderr.prefix(400))")
        let report = try lake.json(run)
        let stored = try #require(report["succeeded"] as? [[String: Any]])
        let failed = try #require(report["failed"] as? [[String: Any]])
        #expect(!stored.isEmpty && !failed.isEmpty && stored.count + failed.count == files.count, "\(stored.count) stored, \(failed.count) failed")
        for object in stored {
            let name = object["name"] as? String ?? ""
            let blob = (object["file"] as? [String: Any])?["blob"] as? [String: Any]
            #expect(blob?["id"] as? String == (try Shell.sha256(lake.directory.file("many/" + name))), "\(name)")
        }
        try FileManager.default.removeItem(atPath: disk + "/filler")
        let listed = try lake.json(try lake.run(["object", "ls", "--json", "--limit", "1000", "--store", store], store: false))
        #expect((listed["objects"] as? [[String: Any]])?.count == stored.count)
        #expect(try lake.run(["gc", "--store", store], store: false).succeeded)
        let verify = try lake.run(["verify", "--store", store], store: false)
        #expect(verify.succeeded, "\(verify.stdout)")
    }

    /// `kill -9` in the middle of many small files, then every blob file whose sync had not come
    /// yet removed (a power failure loses them): the next command writes them back from the
    /// catalog, and every object the catalog recorded is there with its bytes.
    @Test func aKilledUploadOfManyFilesLosesNothingItRecorded() throws {
        let lake = LakeBinary()
        try lake.initStore()
        try configure(lake, ["settle_seconds": 3600])
        try FileManager.default.createDirectory(atPath: lake.directory.file("many"), withIntermediateDirectories: true)
        let files = (0..<1_500).map { lake.directory.writeRandom("many/f\($0).bin", size: 200 + $0 % 3_000, seed: UInt64(1_000 + 2 * $0)) }
        let upload = try ChildProcess(LakeBinary.executable, ["upload", "--no-wait", "--store", lake.store] + files,
                                      output: .null, errors: .null)
        let started = eventually(120) { (Int((try? query(lake, "SELECT COUNT(*) FROM objects").first) ?? "") ?? 0) >= 40 }
        upload.send(SIGKILL)
        upload.wait()
        #expect(started, "no object was recorded")
        let waiting = try query(lake, "SELECT blob_id FROM unsettled_blobs")
        #expect(!waiting.isEmpty, "the kill came after everything was synced; the test proved nothing")
        for id in waiting { try? FileManager.default.removeItem(atPath: BlobFiles.path(store: lake.store, id: id)) }

        let verify = try lake.run(["verify", "--json"])
        let report = try lake.json(verify)
        #expect(Set(report["restored_blobs"] as? [String] ?? []) == Set(waiting), "\(report)")
        #expect((report["missing"] as? [Any])?.isEmpty == true, "\(report)")
        #expect((report["corrupt"] as? [Any])?.isEmpty == true, "\(report)")
        let recorded = try query(lake, "SELECT o.name, o.blob_id FROM objects o")
        #expect(recorded.count >= 40)
        for row in recorded {
            let parts = row.split(separator: "|").map(String.init)
            try #require(parts.count == 2, "\(row)")
            #expect(try Shell.sha256(lake.directory.file("many/" + parts[0])) == parts[1], "\(row)")
        }
        #expect(try query(lake, "SELECT COUNT(*) FROM unsettled_blobs") == ["0"])
        #expect(try lake.run(["process"]).succeeded)
        let after = try lake.run(["verify"])
        #expect(after.succeeded, "\(after.stdout)")
    }
}
