import Foundation
import LakeTestSupport
import Testing

/// Metadata for files dropped into incoming/, both ways: `setfattr -n user.lake.params|tags|
/// annotations|geometry_units` on the file (before or after it is stored), and a sidecar
/// `FILE.lake.json` copied beside it in either order; `lake upload`'s set-once rules hold.
@Suite struct DroppedMetadataTests {
    static let sphere = Fixtures.vtkDirectory + "/sphere.vtp"

    func object(_ lake: LakeBinary, _ id: String) throws -> [String: Any] {
        try lake.json(try lake.run(["object", "show", id, "--json"]))
    }

    func field(_ object: [String: Any], _ label: String) -> [String: Any]? {
        (object["provisions"] as? [[String: Any]])?.compactMap { $0["field"] as? [String: Any] }.first { $0["label"] as? String == label }
    }

    func setfattr(_ mounted: MountedLake, _ name: String, _ value: String, _ file: String) throws -> Shell.Result {
        try Shell.run("setfattr -n \(name) -v '\(value)' '\(mounted.path(file))' 2>&1")
    }

    @Test func setfattrOnAStoredFileSetsItsMetadataOnce() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        #expect(try Shell.run("cp '\(Self.sphere)' '\(mounted.path("incoming/"))'").status == 0)
        let id = try mounted.xattr("incoming/sphere.vtp", "user.lake.id")
        #expect(try lake.run(["wait", id, "--timeout", "120"]).succeeded)

        #expect(try setfattr(mounted, "user.lake.params", #"{"mach": .310, "aoa": {"value": 4, "units": "deg"}}"#, "incoming/sphere.vtp").status != 0,
                "'.310' is not JSON: refused")
        let set = try setfattr(mounted, "user.lake.params", #"{"mach": 0.31, "aoa": {"value": 4, "units": "deg"}}"#, "incoming/sphere.vtp")
        #expect(set.status == 0, "\(set.output)")
        // The same again is fine; another value is refused (set once), as is what does not parse.
        #expect(try setfattr(mounted, "user.lake.params", #"{"mach": 0.31}"#, "incoming/sphere.vtp").status == 0)
        let changed = try setfattr(mounted, "user.lake.params", #"{"mach": 0.9}"#, "incoming/sphere.vtp")
        #expect(changed.status != 0 && changed.output.contains("Operation not permitted"), "\(changed.output)")
        let garbage = try setfattr(mounted, "user.lake.params", "{mach", "incoming/sphere.vtp")
        #expect(garbage.status != 0 && garbage.output.contains("Invalid argument"), "\(garbage.output)")
        #expect(try setfattr(mounted, "user.lake.tags", #"{"project": "wing"}"#, "incoming/sphere.vtp").status == 0)
        #expect(try setfattr(mounted, "user.lake.geometry_units", "mm", "incoming/sphere.vtp").status == 0)
        let badUnits = try setfattr(mounted, "user.lake.geometry_units", "parsec", "incoming/sphere.vtp")
        #expect(badUnits.status != 0 && badUnits.output.contains("Invalid argument"), "\(badUnits.output)")
        #expect(try setfattr(mounted, "user.lake.annotations", #"["area:CELL=AREA"]"#, "incoming/sphere.vtp").status == 0)
        // Names the lake does not hold are still refused as by a filesystem without xattrs.
        let other = try setfattr(mounted, "user.other", "1", "incoming/sphere.vtp")
        #expect(other.status != 0 && other.output.contains("Operation not supported"), "\(other.output)")

        let shown = try object(lake, id)
        let params = try #require(shown["params"] as? [String: [String: Any]], "\(shown)")
        #expect(params["mach"]?["value"] as? Double == 0.31 && params["aoa"]?["units"] as? String == "deg", "\(params)")
        #expect((shown["tags"] as? [String: Any])?["project"] as? String == "wing")
        #expect(shown["geometry_units"] as? String == "mm")
        #expect((shown["warnings"] as? [String] ?? []).allSatisfy { !$0.contains("no geometry units") }, "\(shown["warnings"] ?? "")")
        #expect(field(shown, "area")?["quantity_type"] as? String == "AREA", "\(shown["provisions"] ?? "")")
        // The receipt and the object's folder show them, and filters find them.
        #expect(try mounted.xattr("incoming/sphere.vtp", "user.lake.params").contains(#""mach""#))
        #expect(try mounted.xattr("incoming/sphere.vtp", "user.lake.geometry_units") == "mm")
        #expect(mounted.eventually { (try? mounted.xattr("objects/\(id)/file", "user.lake.tags")) == #"{"project":"wing"}"# })
        let found = try lake.json(try lake.run(["object", "ls", "--param", "mach=0.31", "--json"]))["objects"] as? [[String: Any]]
        #expect(found?.compactMap { $0["id"] as? String } == [id])
        #expect(try lake.run(["log", "--json"]).stdout.contains("object.metadata"))
    }

    /// Set while the file is still being written: recorded in the transaction that stores it.
    @Test func setfattrWhileWritingIsStoredWithTheFile() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let target = mounted.path("incoming/written.vtp")
        let script = """
            import os, sys
            data = open(sys.argv[1], 'rb').read()
            fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, data[:100])
            os.setxattr(sys.argv[2], 'user.lake.params', b'{"re": 1e6}')
            os.setxattr(sys.argv[2], 'user.lake.annotations', b'["area:CELL=AREA"]')
            os.write(fd, data[100:])
            os.close(fd)
            """
        let program = lake.directory.write("write.py", script)
        let run = try Shell.run("python3 '\(program)' '\(Self.sphere)' '\(target)' 2>&1")
        #expect(run.status == 0, "\(run.output)")
        let id = try mounted.xattr("incoming/written.vtp", "user.lake.id")
        #expect(try lake.run(["wait", id, "--timeout", "120"]).succeeded)
        let shown = try object(lake, id)
        #expect((shown["params"] as? [String: [String: Any]])?["re"]?["value"] as? Double == 1e6, "\(shown["params"] ?? "")")
        #expect(field(shown, "area")?["quantity_type"] as? String == "AREA")
        #expect(try Shell.sha256(target) == Shell.sha256(Self.sphere))
    }

    /// A sidecar copied after its file, or before it, gives it its metadata; one that does not
    /// parse, or that contradicts what is set, fails its copy and stores nothing.
    @Test func sidecarsInEitherOrder() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let sidecar = #"{"params": {"mach": 0.8}, "tags": {"run": 1}, "annotations": ["area:CELL=AREA@m^2"], "geometry_units": "m"}"#

        // After the file.
        _ = try Shell.run("mkdir -p '\(mounted.path("incoming/after"))'")
        #expect(try Shell.run("cp '\(Self.sphere)' '\(mounted.path("incoming/after/"))'").status == 0)
        let after = try mounted.xattr("incoming/after/sphere.vtp", "user.lake.id")
        let sidecarFile = lake.directory.write("sphere.vtp.lake.json", sidecar)
        #expect(try Shell.run("cp '\(sidecarFile)' '\(mounted.path("incoming/after/"))'").status == 0)
        #expect(try lake.run(["wait", after, "--timeout", "120"]).succeeded)
        let one = try object(lake, after)
        #expect((one["params"] as? [String: [String: Any]])?["mach"]?["value"] as? Double == 0.8, "\(one["params"] ?? "")")
        #expect(one["geometry_units"] as? String == "m" && (one["tags"] as? [String: Any])?["run"] as? Int == 1)
        #expect(field(one, "area")?["quantity_type"] as? String == "AREA" && field(one, "area")?["units"] as? String == "m^2")
        // The sidecar is stored as a file of its own, readable as copied.
        #expect(try String(contentsOfFile: mounted.path("incoming/after/sphere.vtp.lake.json"), encoding: .utf8) == sidecar)

        // Before the file (what `cp -r` may do): the file is stored with it.
        _ = try Shell.run("mkdir -p '\(mounted.path("incoming/before"))'")
        #expect(try Shell.run("cp '\(sidecarFile)' '\(mounted.path("incoming/before/"))'").status == 0)
        #expect(try Shell.run("cp '\(Self.sphere)' '\(mounted.path("incoming/before/"))'").status == 0)
        let before = try mounted.xattr("incoming/before/sphere.vtp", "user.lake.id")
        #expect(try lake.run(["wait", before, "--timeout", "120"]).succeeded)
        let two = try object(lake, before)
        #expect((two["params"] as? [String: [String: Any]])?["mach"]?["value"] as? Double == 0.8, "\(two["params"] ?? "")")
        #expect(field(two, "area")?["units"] as? String == "m^2")
        // Written over, the file is a new object that takes the sidecar again.
        #expect(try Shell.run("cp '\(Self.sphere)' '\(mounted.path("incoming/before/sphere.vtp"))'").status == 0)
        let again = try mounted.xattr("incoming/before/sphere.vtp", "user.lake.id")
        #expect(again != before)
        #expect((try object(lake, again)["params"] as? [String: [String: Any]])?["mach"] != nil)

        // Not metadata: the copy fails and nothing is stored.
        // Counted over every status: objects stored above may still be processed meanwhile.
        func objectCount() throws -> Int? {
            (try lake.json(try lake.run(["status", "--json"]))["objects"] as? [String: Int])?.values.reduce(0, +)
        }
        let objectsBefore = try objectCount()
        for (name, text, error) in [("bad.vtp.lake.json", "{not json", "Invalid argument"),
                                    ("sphere.vtp.lake.json", #"{"parms": {"mach": 1}}"#, "Invalid argument"),
                                    ("sphere.vtp.lake.json", #"{"params": {"mach": 0.9}}"#, "Operation not permitted")] {
            let file = lake.directory.write("x/" + name, text)
            let copy = try Shell.run("cp '\(file)' '\(mounted.path("incoming/after/"))' 2>&1")
            #expect(copy.status != 0 && copy.output.contains(error), "\(name) \(text): \(copy.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: mounted.path("incoming/after/bad.vtp.lake.json")))
        #expect(try objectCount() == objectsBefore)
        #expect(try String(contentsOfFile: mounted.path("incoming/after/sphere.vtp.lake.json"), encoding: .utf8) == sidecar)
        #expect((try object(lake, after)["params"] as? [String: [String: Any]])?["mach"]?["value"] as? Double == 0.8)
    }

    /// `rsync -a` of a folder with its sidecars, run twice: the second run uploads nothing and
    /// changes nothing.
    @Test func rsyncTwiceWithSidecars() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let source = lake.directory.file("case")
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.sphere, toPath: source + "/sphere.vtp")
        _ = lake.directory.write("case/sphere.vtp.lake.json", #"{"params": {"mach": 0.7}}"#)
        for _ in 0..<2 {
            let sync = try Shell.run("rsync -a '\(source)' '\(mounted.path("incoming/"))' 2>&1")
            #expect(sync.status == 0, "\(sync.output)")
        }
        let objects = try lake.json(try lake.run(["object", "ls", "--json"]))["objects"] as? [[String: Any]] ?? []
        #expect(objects.count == 2, "\(objects.map { $0["name"] ?? "" })")
        let id = try mounted.xattr("incoming/case/sphere.vtp", "user.lake.id")
        #expect((try object(lake, id)["params"] as? [String: [String: Any]])?["mach"]?["value"] as? Double == 0.7)
    }
}
