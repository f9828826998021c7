import Foundation
import LakeTestSupport
import Testing

@Suite struct IncomingTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vtk").path

    func object(_ mounted: MountedLake, _ id: String) throws -> [String: Any] {
        try mounted.lake.json(try mounted.lake.run(["object", "show", id, "--json"]))
    }

    @Test func copyingAFileUploadsItAndLeavesAReceipt() throws {
        let mounted = try MountedLake()
        let copy = try Shell.run("cp '\(Self.fixtures)/sphere.vtp' '\(mounted.path("incoming/"))' 2>&1")
        #expect(copy.status == 0, "\(copy.output)")
        let id = try mounted.xattr("incoming/sphere.vtp", "user.lake.id")
        #expect(id.hasPrefix("obj-"))
        // Durable at close: the object exists with its bytes before any processing.
        let stored = try object(mounted, id)
        #expect(((stored["file"] as? [String: Any])?["blob"] as? [String: Any])?["size"] as? Int == 6628 || stored["status"] != nil)
        #expect(mounted.eventually { (try? mounted.xattr("incoming/sphere.vtp", "user.lake.status")) == "READY" })
        #expect(try object(mounted, id)["status"] as? String == "READY")
        let names = try Shell.run("getfattr --absolute-names -d -m - '\(mounted.path("incoming/sphere.vtp"))' | grep = | cut -d= -f1").output
        #expect(names.split(separator: "\n") == ["user.lake.id", "user.lake.params", "user.lake.status", "user.lake.tags"])
        #expect(try Shell.sha256(mounted.path("objects/\(id)/sphere.vtp")) == Shell.sha256(Self.fixtures + "/sphere.vtp"))
        // rm removes the receipt only.
        #expect(try Shell.run("rm '\(mounted.path("incoming/sphere.vtp"))'").status == 0)
        #expect(!FileManager.default.fileExists(atPath: mounted.path("incoming/sphere.vtp")))
        #expect(try object(mounted, id)["status"] as? String == "READY")
    }

    @Test func dotFilesUploadOnlyOnceRenamed() throws {
        let mounted = try MountedLake()
        let temporary = mounted.path("incoming/.data.bin.Xa1")
        #expect(try Shell.run("head -c 100000 /dev/urandom > '\(temporary)'").status == 0)
        // A file not yet stored is no object: its receipt names the id it will have.
        let pending = try mounted.xattr("incoming/.data.bin.Xa1", "user.lake.id")
        #expect(pending.hasPrefix("obj-"))
        #expect(try mounted.lake.run(["object", "show", pending]).status != 0)
        #expect(try Shell.run("mv '\(temporary)' '\(mounted.path("incoming/data.bin"))'").status == 0)
        let id = try mounted.xattr("incoming/data.bin", "user.lake.id")
        #expect(id == pending)
        let uploaded = try object(mounted, id)
        #expect(uploaded["name"] as? String == "data.bin" && uploaded["status"] as? String != "PENDING_UPLOAD")
    }

    @Test func copyingAFolderUploadsEveryFile() throws {
        let mounted = try MountedLake()
        let source = mounted.lake.directory.file("tree")
        try FileManager.default.createDirectory(atPath: source + "/sub", withIntermediateDirectories: true)
        mounted.lake.directory.write("tree/a.txt", "a")
        mounted.lake.directory.write("tree/sub/b.txt", "b")
        #expect(try Shell.run("cp -r '\(source)' '\(mounted.path("incoming/"))'").status == 0)
        let a = try mounted.xattr("incoming/tree/a.txt", "user.lake.id")
        let b = try mounted.xattr("incoming/tree/sub/b.txt", "user.lake.id")
        #expect(a.hasPrefix("obj-") && b.hasPrefix("obj-") && a != b)
        #expect(try Shell.run("rmdir '\(mounted.path("incoming/tree/sub"))' 2>&1").output.contains("not empty"))
    }

    @Test func createdByComesFromTheCallersUID() throws {
        guard getuid() == 0 else { return }
        let mounted = try MountedLake()
        let source = mounted.lake.directory.write("mine.txt", "by nobody")
        _ = try Shell.run("chmod 755 '\(mounted.lake.directory.path)'; chmod 644 '\(source)'")
        let copy = try Shell.run("setpriv --reuid=65534 --regid=65534 --clear-groups cp '\(source)' '\(mounted.path("incoming/"))' 2>&1")
        #expect(copy.status == 0, "\(copy.output)")
        let id = try mounted.xattr("incoming/mine.txt", "user.lake.id")
        #expect(try object(mounted, id)["created_by"] as? String == "nobody")
    }

    @Test func aCLIUploadShowsUpInTheMountWithinAboutASecond() throws {
        let mounted = try MountedLake()
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.path("objects")).isEmpty)
        let result = try mounted.lake.run(["upload", mounted.lake.directory.write("late.txt", "late"), "--json"])
        let id = (try mounted.lake.json(result)["succeeded"] as! [[String: Any]])[0]["id"] as! String
        // The objects/ listing is cached until the change watcher sees the catalog change (every
        // 250 ms); without it the new object would never appear. Latency is not timed here.
        #expect(mounted.eventually(30) { (try? FileManager.default.contentsOfDirectory(atPath: mounted.path("objects")))?.contains(id) == true })
        // Tags changed by the CLI show in the mounted JSON and xattrs too.
        _ = try mounted.lake.run(["object", "update", id, "--tags", #"{"k":"v"}"#])
        #expect(mounted.eventually(30) { (try? mounted.xattr("objects/\(id)/file", "user.lake.tags")) == #"{"k":"v"}"# })
    }

    @Test func parallelWritersAndReadersLoseNothing() throws {
        let mounted = try MountedLake()
        var sources: [String] = []
        for i in 0..<8 { sources.append(mounted.lake.directory.writeRandom("in\(i).bin", size: 3 << 20, seed: UInt64(i + 1))) }
        var readable: [String] = []
        for i in 0..<8 {
            let result = try mounted.lake.run(["upload", mounted.lake.directory.writeRandom("r\(i).bin", size: 2 << 20, seed: UInt64(100 + i)), "--json", "--no-wait"])
            readable.append((try mounted.lake.json(result)["succeeded"] as! [[String: Any]])[0]["id"] as! String)
        }
        _ = mounted.eventually { readable.allSatisfy { FileManager.default.fileExists(atPath: mounted.path("objects/\($0)/file")) } }
        var commands = sources.map { "cp '\($0)' '\(mounted.path("incoming/"))'" }
        commands += readable.map { "sha256sum '\(mounted.path("objects/\($0)/file"))' > '\(mounted.lake.directory.file($0 + ".sum"))'" }
        #expect(try Shell.parallel(commands).allSatisfy { $0 == 0 })
        for (i, source) in sources.enumerated() {
            let id = try mounted.xattr("incoming/in\(i).bin", "user.lake.id")
            #expect(try Shell.sha256(mounted.path("objects/\(id)/file")) == Shell.sha256(source))
            // The receipt reads back whole too (its size was once recorded short by racing writes).
            let receipt = mounted.path("incoming/in\(i).bin")
            #expect((try FileManager.default.attributesOfItem(atPath: receipt)[.size] as? NSNumber)?.intValue == 3 << 20)
            #expect(try Shell.sha256(receipt) == Shell.sha256(source))
        }
        for (i, id) in readable.enumerated() {
            let sum = try String(contentsOfFile: mounted.lake.directory.file(id + ".sum"), encoding: .utf8).prefix(64)
            #expect(String(sum) == (try Shell.sha256(mounted.lake.directory.file("r\(i).bin"))))
        }
        #expect(try mounted.lake.run(["verify"]).succeeded)
    }

    /// The manifest's content references, as `lake object show --json` gives them.
    func references(_ mounted: MountedLake, _ id: String) throws -> [String: String] {
        let refs = try object(mounted, id)["content_references"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: refs.map { ($0["path"] as? String ?? "", $0["object_id"] as? String ?? "") })
    }

    @Test func aManifestCopiedWithItsBlocksLinksThemAndSettlesReady() throws {
        let mounted = try MountedLake()
        let copy = try Shell.run("cp -r '\(Self.fixtures)/run.vtm' '\(Self.fixtures)/run' '\(mounted.path("incoming/"))' 2>&1")
        #expect(copy.status == 0, "\(copy.output)")
        #expect(mounted.eventually(20) { (try? mounted.xattr("incoming/run.vtm", "user.lake.status")) == "READY" },
                "\((try? mounted.xattr("incoming/run.vtm", "user.lake.failure_reason")) ?? "")")
        let id = try mounted.xattr("incoming/run.vtm", "user.lake.id")
        let blocks = try ["run_0.vtu", "run_1.vtu"].map { try mounted.xattr("incoming/run/\($0)", "user.lake.id") }
        #expect(try references(mounted, id) == ["run/run_0.vtu": blocks[0], "run/run_1.vtu": blocks[1]])
        // The blocks are reachable at their manifest paths, byte for byte.
        for name in ["run_0.vtu", "run_1.vtu"] {
            #expect(try Shell.sha256(mounted.path("objects/\(id)/run/\(name)")) == Shell.sha256("\(Self.fixtures)/run/\(name)"))
        }
    }

    @Test func aManifestWaitsForBlocksCopiedAfterIt() throws {
        let mounted = try MountedLake()
        #expect(try Shell.run("cp '\(Self.fixtures)/run.vtm' '\(mounted.path("incoming/"))'").status == 0)
        let id = try mounted.xattr("incoming/run.vtm", "user.lake.id")
        usleep(600_000)  // the worker polls meanwhile; the manifest must keep waiting
        #expect(try mounted.xattr("incoming/run.vtm", "user.lake.status") == "UPLOADED")
        #expect(try references(mounted, id) == ["run/run_0.vtu": "", "run/run_1.vtu": ""])
        #expect(try Shell.run("mkdir '\(mounted.path("incoming/run"))' && cp '\(Self.fixtures)/run/run_1.vtu' '\(Self.fixtures)/run/run_0.vtu' '\(mounted.path("incoming/run/"))'").status == 0)
        #expect(mounted.eventually(20) { (try? mounted.xattr("incoming/run.vtm", "user.lake.status")) == "READY" },
                "\((try? mounted.xattr("incoming/run.vtm", "user.lake.failure_reason")) ?? "")")
        let fields = try object(mounted, id)["provisions"] as? [[String: Any]] ?? []
        #expect(!fields.isEmpty)
    }

    @Test func aBlockThatNeverArrivesFailsTheManifestNamingIt() throws {
        let mounted = try MountedLake(mount: false)
        try mounted.configure(["manifest_block_wait_seconds": 1.5])
        try mounted.mount()
        #expect(try Shell.run("mkdir '\(mounted.path("incoming/run"))' && cp '\(Self.fixtures)/run.vtm' '\(mounted.path("incoming/"))' && cp '\(Self.fixtures)/run/run_0.vtu' '\(mounted.path("incoming/run/"))'").status == 0)
        #expect(mounted.eventually(20) { (try? mounted.xattr("incoming/run.vtm", "user.lake.status")) == "FAILED" })
        let reason = try mounted.xattr("incoming/run.vtm", "user.lake.failure_reason")
        #expect(reason.contains("'run/run_1.vtu' never arrived"), "\(reason)")
        // The block that did arrive is an object of its own, unaffected.
        #expect(mounted.eventually { (try? mounted.xattr("incoming/run/run_0.vtu", "user.lake.status")) == "READY" })
    }

    /// A reference with `..` is named as written and as resolved: escaping the manifest's folder
    /// fails at once; one that stays inside but whose file never comes says where it looked.
    @Test func referencesWithDotDotAreNamedInTheFailure() throws {
        let mounted = try MountedLake(mount: false)
        try mounted.configure(["manifest_block_wait_seconds": 1.0])
        try mounted.mount()
        let manifest = try String(contentsOfFile: Self.fixtures + "/run.vtm", encoding: .utf8)
        mounted.lake.directory.write("src/sub/escape.vtm", manifest.replacingOccurrences(of: "run/run_0.vtu", with: "../run/run_0.vtu"))
        mounted.lake.directory.write("src/inside.vtm", manifest.replacingOccurrences(of: "run/run_0.vtu", with: "run/../run_0.vtu"))
        let source = mounted.lake.directory.file("src")
        #expect(try Shell.run("cp -r '\(source)/sub' '\(source)/inside.vtm' '\(Self.fixtures)/run' '\(mounted.path("incoming/"))'").status == 0)
        #expect(mounted.eventually(20) { (try? mounted.xattr("incoming/sub/escape.vtm", "user.lake.status")) == "FAILED" })
        #expect(try mounted.xattr("incoming/sub/escape.vtm", "user.lake.failure_reason")
                == "reference '../run/run_0.vtu' escapes the manifest's folder with '..'")
        #expect(mounted.eventually(20) { (try? mounted.xattr("incoming/inside.vtm", "user.lake.status")) == "FAILED" })
        let reason = try mounted.xattr("incoming/inside.vtm", "user.lake.failure_reason")
        #expect(reason.contains("block 'run/../run_0.vtu' never arrived: no file was copied to 'run_0.vtu' (what 'run/../run_0.vtu' resolves to)"), "\(reason)")
    }

    @Test func aFullStoreMakesCloseFail() throws {
        guard getuid() == 0 else { return }
        let mounted = try MountedLake(mount: false)
        let small = mounted.lake.directory.file("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        #expect(try Shell.run("mount -t tmpfs -o size=8m tmpfs '\(small)'").status == 0)
        defer { _ = try? Shell.run("umount -l '\(small)'") }
        #expect(try mounted.lake.run(["init", "--store", small + "/store"], store: false).succeeded)
        #expect(try mounted.lake.run(["mount", mounted.mountpoint, "--store", small + "/store"], store: false).succeeded)
        let big = mounted.lake.directory.writeRandom("big.bin", size: 12 << 20)
        let copy = try Shell.run("cp '\(big)' '\(mounted.path("incoming/"))' 2>&1")
        #expect(copy.status != 0)
        #expect(copy.output.contains("No space left on device"), "\(copy.output)")
        #expect(mounted.eventually(30) { (try? FileManager.default.contentsOfDirectory(atPath: mounted.path("objects")))?.isEmpty == true })
        _ = try mounted.lake.run(["unmount", mounted.mountpoint], store: false)
    }
}
