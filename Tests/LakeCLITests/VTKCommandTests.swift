import Foundation
import LakeTestSupport
import Testing

@Suite struct VTKCommandTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vtk").path

    func copyRun(_ lake: LakeBinary) throws -> String {
        try Fixtures.copyRunManifest(into: lake.directory.file("case"))
    }

    @Test func uploadingAManifestBringsItsBlocksAndShowsTheFields() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let result = try lake.run(["upload", try copyRun(lake), "--annotate", "p:POINT=PRESSURE"])
        #expect(result.succeeded, "\(result.stderr)")
        #expect(result.stdout.contains("run.vtm") && result.stdout.contains("  READY") && result.stdout.contains("run/run_1.vtu"))
        let listed = try lake.json(try lake.run(["object", "ls", "--json"]))
        let objects = listed["objects"] as! [[String: Any]]
        #expect(objects.count == 3)
        let vtm = try #require(objects.first { $0["format"] as? String == "vtm" })
        let refs = try #require(vtm["content_references"] as? [[String: Any]])
        #expect(refs.map { $0["path"] as? String } == ["run/run_0.vtu", "run/run_1.vtu"])
        let shown = try lake.run(["object", "show", vtm["id"] as! String])
        #expect(shown.stdout.contains("MAGNITUDE HISTOGRAM"))
        #expect(shown.stdout.contains("PRESSURE [Pa]"))
        let fields = (vtm["provisions"] as! [[String: Any]]).compactMap { $0["field"] as? [String: Any] }
        let p = try #require(fields.first { $0["label"] as? String == "p" })
        let magnitude = p["magnitude_stats"] as! [String: Any]
        #expect((magnitude["hist128"] as! [Int]).reduce(0, +) == magnitude["count"] as! Int)
        for key in ["label", "element_assoc", "num_components", "num_tuples", "data_type", "has_nan", "component_stats", "magnitude_stats"] {
            #expect(p.keys.contains(key), "missing \(key)")
        }
    }

    @Test func annotateAReadyObjectOnceAndOnlyOnce() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let result = try lake.run(["upload", Self.fixtures + "/sphere.vtp", "--json"])
        let id = (try lake.json(result)["succeeded"] as! [[String: Any]])[0]["id"] as! String
        let annotated = try lake.run(["object", "annotate", id, "area:CELL=AREA", "missing:POINT=MACH", "--json"])
        #expect(annotated.succeeded, "\(annotated.stderr)")
        #expect(annotated.stderr.contains("missing:POINT=MACH matches no field"))
        let object = try lake.json(annotated)
        let area = (object["provisions"] as! [[String: Any]]).compactMap { $0["field"] as? [String: Any] }.first { $0["label"] as? String == "area" }
        #expect(area?["quantity_type"] as? String == "AREA" && area?["units"] as? String == "m²")
        #expect(try lake.run(["object", "annotate", id, "area:CELL=AREA"]).succeeded)
        let conflicting = try lake.run(["object", "annotate", id, "area:CELL=VOLUME"])
        #expect(conflicting.status == 1 && conflicting.stderr.contains("already annotated as AREA"))
        let unknown = try lake.run(["object", "annotate", id, "area:CELL=AREAA"])
        #expect(unknown.status == 64 && unknown.stderr.contains("valid names"))
    }

    @Test func annotatingAnObjectThatIsNotReadyIsRefused() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let result = try lake.run(["upload", lake.directory.write("bad.vtu", "<nope/>"), "--json"])
        let id = (try lake.json(result)["succeeded"] as! [[String: Any]])[0]["id"] as! String
        let refused = try lake.run(["object", "annotate", id, "p:POINT=PRESSURE"])
        #expect(refused.status == 1 && refused.stderr.contains("is FAILED"))
    }
}
