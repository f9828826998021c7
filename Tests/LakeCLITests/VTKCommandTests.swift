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
        // A field that does not exist (a typo) is refused, and nothing is changed.
        let typo = try lake.run(["object", "annotate", id, "area:CELL=AREA", "aera:CELL=MACH"])
        #expect(typo.status == 1 && typo.stderr.contains("aera:CELL matches no field") && typo.stderr.contains("did you mean area:CELL?"),
                "\(typo.stderr)")
        let untouched = try lake.json(try lake.run(["object", "show", id, "--json"]))
        #expect((untouched["annotations"] as? [Any])?.isEmpty == true && (untouched["warnings"] as? [Any])?.isEmpty == true)
        // Asked for, it is recorded with a warning; the output is one line (all of it with --json).
        let plain = try lake.run(["object", "annotate", id, "missing:POINT=MACH", "--allow-unmatched"])
        #expect(plain.succeeded && plain.stderr.contains("missing:POINT=MACH matches no field"), "\(plain.stderr)")
        #expect(plain.stdout.split(separator: "\n").count == 1 && plain.stdout.hasPrefix("Annotated 1 field of READY"), "\(plain.stdout)")
        let annotated = try lake.run(["object", "annotate", id, "area:CELL=AREA", "--json"])
        #expect(annotated.succeeded, "\(annotated.stderr)")
        let object = try lake.json(annotated)
        let area = (object["provisions"] as! [[String: Any]]).compactMap { $0["field"] as? [String: Any] }.first { $0["label"] as? String == "area" }
        #expect(area?["quantity_type"] as? String == "AREA" && area?["units"] as? String == "m²")
        #expect(try lake.run(["object", "annotate", id, "area:CELL=AREA"]).succeeded)
        let conflicting = try lake.run(["object", "annotate", id, "area:CELL=VOLUME"])
        #expect(conflicting.status == 1 && conflicting.stderr.contains("already annotated as AREA"))
        let unknown = try lake.run(["object", "annotate", id, "area:CELL=AREAA"])
        #expect(unknown.status == 64 && unknown.stderr.contains("did you mean AREA?"), "\(unknown.stderr)")
    }

    /// A warning goes when its cause does: declaring geometry units later clears "no geometry
    /// units were declared".
    @Test func settingGeometryUnitsClearsTheirWarning() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let uploaded = try lake.run(["upload", lake.directory.write("t.stl", Fixtures.asciiSTL(triangles: 2)), "--json"])
        let object = try #require((try lake.json(uploaded)["succeeded"] as? [[String: Any]])?.first)
        let id = object["id"] as! String
        #expect((object["warnings"] as? [String])?.contains { $0.hasPrefix("no geometry units were declared") } == true)
        #expect(try lake.run(["object", "update", id, "--geometry-units", "m"]).succeeded)
        let after = try lake.json(try lake.run(["object", "show", id, "--json"]))
        #expect((after["warnings"] as? [String]) == [], "\(after["warnings"] ?? "")")
        let geometry = (after["provisions"] as? [[String: Any]])?.compactMap { $0["geometry"] as? [String: Any] }.first
        #expect(geometry?["units"] as? String == "m")
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
