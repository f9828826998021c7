import Foundation
import LakeTestSupport
import Testing

/// The mesh summary through the CLI and the mount: a VTU/VTP object's points, cells, bounds and
/// cell types in its JSON, `lake object show` and `user.lake.mesh`; a VTM's pooled over its
/// blocks; a case's over its members; none for other formats.
@Suite struct MeshSummaryCLITests {
    static let vtk = Fixtures.vtkDirectory

    /// What VTK's readers say (Tests/Fixtures/make_mesh_expectations.py).
    var expected: [String: [String: Any]] {
        let data = try! Data(contentsOf: URL(fileURLWithPath: Self.vtk + "/expected-mesh.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
    }

    func upload(_ lake: LakeBinary, _ path: String) throws -> [String: Any] {
        let result = try lake.run(["upload", path, "--json"])
        return try #require((try lake.json(result)["succeeded"] as? [[String: Any]])?.first, "\(result.stderr)")
    }

    @Test func objectsManifestsAndCasesTellTheirMesh() throws {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let mixed = try upload(lake, Self.vtk + "/mixed-cells.vtu")
        let mesh = try #require(mixed["mesh"] as? [String: Any], "\(mixed)")
        let want = expected["mixed-cells.vtu"]!
        #expect(mesh["points"] as? Int == want["points"] as? Int && mesh["cells"] as? Int == want["cells"] as? Int)
        #expect((mesh["cell_types"] as? [String: Int])?["HEXAHEDRON"] == 2 && (mesh["cell_types"] as? [String: Int])?["PYRAMID"] == 1)
        #expect((mesh["bounds"] as? [String: [Double]])?["min"] == [-1.5, 0, -0.5], "\(mesh)")
        let text = try lake.run(["object", "show", mixed["id"] as! String]).stdout
        #expect(text.contains("mesh:") && text.contains("27 points, 10 cells (HEXAHEDRON 2, TETRA 2,"), "\(text)")

        // A manifest's mesh is its blocks' pooled.
        let manifest = try upload(lake, try Fixtures.copyRunManifest(into: lake.directory.file("run")))
        let pooled = try #require(manifest["mesh"] as? [String: Any], "\(manifest)")
        let blocks = ["run/run_0.vtu", "run/run_1.vtu"].map { expected[$0]! }
        #expect(pooled["points"] as? Int == blocks.reduce(0) { $0 + ($1["points"] as! Int) })
        #expect(pooled["cells"] as? Int == blocks.reduce(0) { $0 + ($1["cells"] as! Int) })
        let mins = blocks.map { ($0["bounds"] as! [String: [Double]])["min"]! }
        #expect((pooled["bounds"] as? [String: [Double]])?["min"] == (0..<3).map { axis in mins.map { $0[axis] }.min()! })

        // A case pools its members'; an STL has none (and no key).
        let sphere = try upload(lake, Self.vtk + "/sphere.vtp")
        let stl = try upload(lake, lake.directory.write("part.stl", Fixtures.asciiSTL(triangles: 2)))
        #expect(stl["mesh"] == nil && stl["status"] as? String == "READY")
        let made = try lake.json(try lake.run(["case", "create", "--object", "\(manifest["id"]!):flow", "--object", "\(sphere["id"]!):surface",
                                               "--object", "\(stl["id"]!):part", "--json"]))
        let caseMesh = try #require(made["mesh"] as? [String: Any], "\(made)")
        #expect(caseMesh["points"] as? Int == (pooled["points"] as! Int) + (expected["sphere.vtp"]!["points"] as! Int))
        #expect((caseMesh["cell_types"] as? [String: Int])?["TRIANGLE"] == (expected["sphere.vtp"]!["cell_types"] as! [String: Int])["5"])

        // The mount carries it as an xattr, on the object and on the case.
        try mounted.mount()
        let attribute = try mounted.xattr("objects/\(mixed["id"]!)/file", "user.lake.mesh")
        #expect(attribute.contains(#""points":27"#) && attribute.contains(#""cell_types""#), "\(attribute)")
        #expect(try mounted.xattr("cases/\(made["id"]!)", "user.lake.mesh").contains(#""cells""#))
        #expect(try mounted.xattr("objects/\(stl["id"]!)/file", "user.lake.mesh").contains("No such attribute"))
    }
}
