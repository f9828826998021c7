import Foundation
import LakeTestSupport
import Testing

@Suite struct MaintenanceCommandTests {
    @Test(.disabled(if: ClusterStores.isOn, "damages a file in the embedded store's blobs/ folder"))
    func verifyFindsDamageAndGetRefusesDamagedBytes() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let source = lake.directory.write("a.txt", "original bytes")
        let result = try lake.run(["upload", source, "--json"])
        let object = (try lake.json(result)["succeeded"] as! [[String: Any]])[0]
        let blob = ((object["file"] as! [String: Any])["blob"] as! [String: Any])["id"] as! String
        #expect(try lake.run(["verify"]).succeeded)

        let path = BlobFiles.path(store: lake.store, id: blob)
        _ = try Command.output("/bin/chmod", ["u+w", path])
        try "damaged bytes!".write(toFile: path, atomically: false, encoding: .utf8)
        let verify = try lake.run(["verify", "--json"])
        #expect(verify.status == 1)
        let report = try lake.json(verify)
        let corrupt = try #require(report["corrupt"] as? [[String: Any]])
        #expect(corrupt.first?["blob"] as? String == blob)
        #expect((corrupt.first?["objects"] as? [String]) == [object["id"] as! String])
        let get = try lake.run(["object", "get", object["id"] as! String, "-o", lake.directory.file("out.txt")])
        #expect(get.status == 1 && get.stderr.contains("damaged"))
        #expect(!FileManager.default.fileExists(atPath: lake.directory.file("out.txt")))

        try FileManager.default.removeItem(atPath: path)
        let missing = try lake.json(try lake.run(["verify", "--json"]))
        #expect((missing["missing"] as? [[String: Any]])?.first?["blob"] as? String == blob)
    }

    @Test(.disabled(if: ClusterStores.isOn, "plants orphans in the embedded store's blobs/ folder"))
    func gcRemovesOrphansAndTheStoreVerifiesCleanAfterwards() throws {
        let lake = LakeBinary()
        try lake.initStore()
        _ = try lake.run(["upload", lake.directory.write("a.txt", "a")])
        let orphan = String(repeating: "e", count: 64)
        lake.directory.write("store/blobs/ee/\(orphan)", "stray")
        lake.directory.write("store/spool/obj-gone.part", "half an upload")
        let verify = try lake.run(["verify"])
        #expect(verify.status == 1 && verify.stdout.contains("ORPHANED") && verify.stdout.contains("LEFTOVER"))
        let gc = try lake.run(["gc", "--json"])
        #expect(gc.succeeded)
        let report = try lake.json(gc)
        #expect(report["removed_blobs"] as? [String] == [orphan])
        #expect(report["discarded_uploads"] as? [String] == ["obj-gone"])
        #expect(try lake.run(["verify"]).succeeded)
    }
}
