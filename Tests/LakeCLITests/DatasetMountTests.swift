import Foundation
import LakeTestSupport
import Testing

/// cases/ and datasets/ through a real mount, and one frozen dataset mounted on its own.
@Suite struct DatasetMountTests {
    static let vtk = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vtk").path
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/examples/read_dataset.py").path

    struct Lake {
        let mounted: MountedLake
        let flow: String, surface: String, caseID: String, frozen: String, open: String
    }

    /// A run manifest and a surface in one case, the case in a frozen and in an unfrozen dataset.
    func makeLake() throws -> Lake {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        func upload(_ path: String, _ extra: [String]) throws -> String {
            let result = try lake.run(["upload", path, "--json"] + extra)
            return (try lake.json(result)["succeeded"] as! [[String: Any]])[0]["id"] as! String
        }
        let manifest = try Fixtures.copyRunManifest(into: lake.directory.file("run"))
        let flow = try upload(manifest, ["--param", "mach=0.8"])
        let surface = try upload("\(Self.vtk)/sphere.vtp", ["--param", "aoa=2@deg"])
        let caseID = try lake.json(try lake.run(["case", "create", "--object", "\(flow):flow", "--object", "\(surface):surface",
                                                 "--name", "wing-1", "--json"]))["id"] as! String
        let frozen = try lake.json(try lake.run(["dataset", "create", "--name", "train", "--case", caseID, "--json"]))["id"] as! String
        #expect(try lake.run(["dataset", "freeze", frozen]).succeeded)
        let open = try lake.json(try lake.run(["dataset", "create", "--name", "draft", "--case", caseID, "--json"]))["id"] as! String
        try mounted.mount()
        return Lake(mounted: mounted, flow: flow, surface: surface, caseID: caseID, frozen: frozen, open: open)
    }

    @Test func casesAndFrozenDatasetsAppearInTheTree() throws {
        let lake = try makeLake()
        let mounted = lake.mounted
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.path("cases")) == [lake.caseID])
        // Only frozen datasets are shown.
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.path("datasets")).sorted() == ["by-name", lake.frozen])
        let folder = "cases/\(lake.caseID)"
        #expect(try Set(FileManager.default.contentsOfDirectory(atPath: mounted.path(folder))) == ["case.json", "flow", "surface"])
        let caseJSON = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: mounted.path("\(folder)/case.json")))) as! [String: Any]
        #expect(caseJSON["id"] as? String == lake.caseID && caseJSON["status"] as? String == "READY")
        #expect(try mounted.xattr(folder, "user.lake.kind") == "case")
        #expect(try mounted.xattr("\(folder)/surface/sphere.vtp", "user.lake.id") == lake.surface)
        #expect(try Shell.sha256(mounted.path("\(folder)/surface/sphere.vtp")) == Shell.sha256("\(Self.vtk)/sphere.vtp"))
        #expect(try Shell.sha256(mounted.path("\(folder)/flow/run/run_1.vtu")) == Shell.sha256("\(Self.vtk)/run/run_1.vtu"))
        let lines = try String(contentsOfFile: mounted.path("datasets/\(lake.frozen)/manifest.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
        let line = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(line["case_id"] as? String == lake.caseID && line["name"] as? String == "wing-1")
        let files = (line["members"] as? [[String: Any]] ?? []).flatMap { $0["files"] as? [String] ?? [] }
        #expect(files.count == 4)
        for file in files { #expect(FileManager.default.fileExists(atPath: mounted.path("datasets/\(lake.frozen)/\(file)")), "\(file)") }
        for change in ["touch '\(mounted.path(folder))/new'", "rm '\(mounted.path(folder))/case.json'", "mkdir '\(mounted.path("datasets/\(lake.frozen)"))/d'"] {
            let result = try Shell.run(change + " 2>&1")
            #expect(result.status != 0 && result.output.contains("Read-only file system"), "\(change): \(result.output)")
        }
        // A dataset frozen while mounted shows up.
        #expect(try mounted.lake.run(["dataset", "freeze", lake.open]).succeeded)
        #expect(mounted.eventually { (try? FileManager.default.contentsOfDirectory(atPath: mounted.path("datasets")).count) == 3 })
    }

    /// Inode numbers of cases and datasets come from the catalog: the same after a remount, even
    /// when the trees are visited in another order (they were handed out in order of first visit).
    @Test func caseAndDatasetInodesAreStableAcrossRemounts() throws {
        let lake = try makeLake()
        let mounted = lake.mounted
        let paths = ["cases/\(lake.caseID)", "cases/\(lake.caseID)/case.json", "cases/\(lake.caseID)/surface/sphere.vtp",
                     "datasets/\(lake.frozen)", "datasets/\(lake.frozen)/manifest.jsonl"]
        func inodes(_ order: [String]) throws -> [String: String] {
            var result: [String: String] = [:]
            for path in order { result[path] = try Shell.run("stat -c %i '\(mounted.path(path))'").output }
            return result
        }
        let first = try inodes(paths)
        #expect(Set(first.values).count == paths.count, "distinct numbers: \(first)")
        _ = try mounted.lake.run(["unmount", mounted.mountpoint], store: false)
        try mounted.mount()
        #expect(try inodes(paths.reversed()) == first)
    }

    @Test func aFrozenDatasetMountsOnItsOwnAndATrainingScriptReadsIt() throws {
        let lake = try makeLake()
        let directory = lake.mounted.lake.directory.file("train")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let refused = try lake.mounted.lake.run(["mount", "--dataset", lake.open, directory])
        #expect(refused.status != 0 && refused.stderr.contains("not frozen"), "\(refused.stderr)")
        let mounted = try lake.mounted.lake.run(["mount", "--dataset", lake.frozen, directory])
        #expect(mounted.succeeded, "\(mounted.stderr)")
        defer { _ = try? lake.mounted.lake.run(["unmount", directory], store: false) }
        #expect(try Set(FileManager.default.contentsOfDirectory(atPath: directory)) == ["cases", "dataset.json", "manifest.jsonl"])
        let run = try Shell.run("python3 '\(Self.example)' '\(directory)' 2>&1")
        #expect(run.status == 0, "\(run.output)")
        let summary = try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any] ?? [:]
        #expect(summary["cases"] as? Int == 1 && summary["files"] as? Int == 4)
        #expect(summary["param_names"] as? [String] == ["aoa", "mach"] && summary["params"] as? [[Double]] == [[2, 0.8]])
        let digests = summary["sha256"] as? [String: String] ?? [:]
        let sphere = try #require(digests.first { $0.key.hasSuffix("/surface/sphere.vtp") }?.value)
        #expect(try sphere == Shell.sha256("\(Self.vtk)/sphere.vtp"))
        // Every path stays valid inside the mount: VTK opens the manifest and finds its blocks.
        let output = try VTKReader.blockPoints("\(directory)/cases/\(lake.caseID)/flow/run.vtm")
        #expect(output == "2 30 40", "\(output)")
        let write = try Shell.run("touch '\(directory)/x' 2>&1")
        #expect(write.status != 0 && write.output.contains("Read-only file system"), "\(write.output)")
    }

    /// A dataset mount tells the kernel its folders need no OPENDIR (they never change): a folder
    /// of 300 members, read in many READDIR buffers without a handle, lists every member, the
    /// same on every walk, and `ls -a` still shows `.` and `..`.
    @Test func aDatasetMountListsLargeFoldersWithoutOpeningThem() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let files = (0..<300).map { lake.directory.write("m\($0).txt", "member \($0)") }
        let uploaded = try lake.json(try lake.run(["upload"] + files + ["--json"]))
        let stored = try #require(uploaded["succeeded"] as? [[String: Any]])
        let idByName = Dictionary(uniqueKeysWithValues: stored.map { ($0["name"] as! String, $0["id"] as! String) })
        let objects = try (0..<300).map { try #require(idByName["m\($0).txt"]) }
        let created = try lake.json(try lake.run(["case", "create", "--name", "wide", "--json"]
            + objects.enumerated().flatMap { ["--object", "\($0.element):m\($0.offset)"] }))
        let caseID = try #require(created["id"] as? String)
        let dataset = try #require(try lake.json(try lake.run(["dataset", "create", "--name", "wide", "--case", caseID, "--json"]))["id"] as? String)
        #expect(try lake.run(["dataset", "freeze", dataset]).succeeded)
        let directory = lake.directory.file("wide")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(try lake.run(["mount", "--dataset", dataset, directory]).succeeded)
        defer { _ = try? lake.run(["unmount", directory], store: false) }
        let folder = "\(directory)/cases/\(caseID)"
        let expected = Set(["case.json"] + (0..<300).map { "m\($0)" })
        #expect(try Set(FileManager.default.contentsOfDirectory(atPath: folder)) == expected)
        let walks = try (0..<3).map { _ in try Shell.run("find '\(directory)' | sort").output }
        #expect(walks[0] == walks[1] && walks[1] == walks[2])
        #expect(walks[0].split(separator: "\n").count == 1 + 3 + 1 + 1 + 300 * 4, "\(walks[0].split(separator: "\n").count) paths")
        #expect(try Shell.run("cat '\(folder)/m299/file'").output == "member 299")
        let dots = try Shell.run("ls -a '\(folder)' | head -2").output
        #expect(dots == ".\n..\n", "\(dots)")
    }

    /// A dataset mount tells the kernel opens are not needed (it never changes): the kernel sends
    /// no OPEN, FLUSH or RELEASE, keeps each file's pages between opens, and asks the daemon only
    /// for bytes it has not cached. Three passes over 20 files: every byte right every time, and
    /// the daemon answered reads in the first pass only (one or two per file). A blob damaged
    /// before its first read fails with EIO, and so does every later read of it.
    @Test(.disabled(if: ClusterStores.isOn, "reads the embedded store's blobs/ folder"))
    func aDatasetMountReadsFilesFromThePageCacheAfterTheFirstRead() throws {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let sources = (0..<21).map { lake.directory.writeRandom("s\($0).bin", size: 64 << 10, seed: UInt64(2 * $0 + 1)) }
        let uploaded = try #require(try lake.json(try lake.run(["upload"] + sources + ["--json"]))["succeeded"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: uploaded.map { ($0["name"] as! String, $0) })
        let objects = try (0..<21).map { try #require(byName["s\($0).bin"]) }
        let ids = objects.map { $0["id"] as! String }
        let created = try lake.json(try lake.run(["case", "create", "--name", "samples", "--json"]
            + ids.enumerated().flatMap { ["--object", "\($0.element):s\($0.offset)"] }))
        let caseID = try #require(created["id"] as? String)
        let dataset = try #require(try lake.json(try lake.run(["dataset", "create", "--name", "samples", "--case", caseID, "--json"]))["id"] as? String)
        #expect(try lake.run(["dataset", "freeze", dataset]).succeeded)
        let damagedBlob = ((objects[20]["file"] as! [String: Any])["blob"] as! [String: Any])["id"] as! String
        try flipByte(BlobFiles.path(store: mounted.store, id: damagedBlob), at: 100)

        let directory = lake.directory.file("samples")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(try lake.run(["mount", "--dataset", dataset, directory]).succeeded)
        var mountedDataset = true
        defer { if mountedDataset { _ = try? lake.run(["unmount", directory], store: false) } }
        let folder = "\(directory)/cases/\(caseID)"
        for pass in 0..<3 {
            for index in 0..<20 {
                #expect(try Shell.sha256("\(folder)/s\(index)/file") == Shell.sha256(sources[index]), "pass \(pass), file \(index)")
            }
        }
        for _ in 0..<2 {
            let read = try Shell.run("cat '\(folder)/s20/file' > /dev/null 2>&1; echo $?")
            #expect(read.output != "0\n", "a damaged blob was served")
        }
        #expect(try lake.run(["unmount", directory], store: false).succeeded)
        mountedDataset = false
        let log = try String(contentsOfFile: "\(mounted.store)/logs/mount.log", encoding: .utf8)
        let line = try #require(log.split(separator: "\n").last { $0.contains("reads of stored files") })
        let answered = Int(line.split(separator: "answered ").last?.split(separator: " ").first ?? "") ?? -1
        #expect((20...40).contains(answered), "the daemon answered \(answered) reads: \(line)")
    }
}
