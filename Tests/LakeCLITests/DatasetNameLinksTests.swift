import Foundation
import LakeTestSupport
import Testing

/// `datasets/by-name/<name>/<n>` and `…/latest` in the mount: relative symbolic links to the
/// frozen versions of a name, in freeze order, as `lake dataset show NAME@N` counts them.
@Suite struct DatasetNameLinksTests {
    func freeze(_ lake: LakeBinary, name: String, triangles: Int) throws -> String {
        let file = lake.directory.write("\(name.replacingOccurrences(of: "/", with: "_"))-\(triangles).stl", Fixtures.asciiSTL(triangles: triangles))
        let object = (try lake.json(try lake.run(["upload", file, "--geometry-units", "m", "--json"]))["succeeded"] as! [[String: Any]])[0]["id"] as! String
        let caseID = try lake.json(try lake.run(["case", "create", "--object", object, "--json"]))["id"] as! String
        let dataset = try lake.json(try lake.run(["dataset", "create", "--name", name, "--case", caseID, "--json"]))["id"] as! String
        let frozen = try lake.run(["dataset", "freeze", dataset])
        #expect(frozen.succeeded, "\(frozen.stderr)")
        return dataset
    }

    @Test func namesLinkToFrozenVersions() throws {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let first = try freeze(lake, name: "wing", triangles: 1)
        let second = try freeze(lake, name: "wing", triangles: 2)
        let tail = try freeze(lake, name: "tail", triangles: 3)
        _ = try freeze(lake, name: "a/b", triangles: 4)
        // An unfrozen dataset of the name is not a version.
        _ = try lake.run(["dataset", "create", "--name", "wing"])
        try mounted.mount()

        let fm = FileManager.default
        #expect(try fm.contentsOfDirectory(atPath: mounted.path("datasets")).contains("by-name"))
        #expect(try fm.contentsOfDirectory(atPath: mounted.path("datasets/by-name")).sorted() == ["tail", "wing"])
        #expect(try fm.contentsOfDirectory(atPath: mounted.path("datasets/by-name/wing")).sorted() == ["1", "2", "latest"])
        #expect(try fm.destinationOfSymbolicLink(atPath: mounted.path("datasets/by-name/wing/1")) == "../../\(first)")
        #expect(try fm.destinationOfSymbolicLink(atPath: mounted.path("datasets/by-name/wing/latest")) == "../../\(second)")
        #expect(try fm.destinationOfSymbolicLink(atPath: mounted.path("datasets/by-name/tail/latest")) == "../../\(tail)")
        let listing = try Shell.run("ls -l '\(mounted.path("datasets/by-name/wing"))'").output
        #expect(listing.contains("latest -> ../../\(second)") && listing.hasPrefix("total") && listing.contains("lrwxrwxrwx"), "\(listing)")
        // Followed, a link is the dataset's folder: what training code reads.
        let viaName = try String(contentsOfFile: mounted.path("datasets/by-name/wing/latest/manifest.jsonl"), encoding: .utf8)
        #expect(viaName == (try String(contentsOfFile: mounted.path("datasets/\(second)/manifest.jsonl"), encoding: .utf8)))
        #expect(try Shell.run("readlink -f '\(mounted.path("datasets/by-name/wing/1"))'").output == mounted.path("datasets/\(first)") + "\n")
        // Not links: reading a folder's link target is EINVAL; versions past the last are absent.
        #expect(try Shell.run("readlink '\(mounted.path("datasets/by-name/wing"))'").status != 0)
        #expect(!fm.fileExists(atPath: mounted.path("datasets/by-name/wing/3")))
        let refused = try Shell.run("ln -s x '\(mounted.path("datasets/by-name/wing/mine"))' 2>&1")
        #expect(refused.status != 0, "\(refused.output)")

        // A new version appears (the kernel asks again within about a second) and becomes latest.
        let third = try freeze(lake, name: "wing", triangles: 5)
        #expect(mounted.eventually(30) {
            (try? fm.destinationOfSymbolicLink(atPath: mounted.path("datasets/by-name/wing/latest"))) == "../../\(third)"
        })
        #expect(mounted.eventually(30) { (try? fm.destinationOfSymbolicLink(atPath: mounted.path("datasets/by-name/wing/3"))) == "../../\(third)" })
        #expect(try lake.json(try lake.run(["dataset", "show", "wing@3", "--json"]))["id"] as? String == third)
    }
}
