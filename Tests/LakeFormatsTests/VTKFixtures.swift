import Foundation
import LakeModel
import LakeSystem

/// The fixtures written by VTK's own writers (Tests/Fixtures/make_vtk_fixtures.py) and the
/// statistics numpy computed for them.
enum VTKFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/vtk").path

    static func path(_ name: String) -> String { directory + "/" + name }

    static let expected: [String: [Field]] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: path("expected.json")))
        return try! LakeJSON.decoder().decode([String: [Field]].self, from: data)
    }()

    static var datasetNames: [String] { expected.keys.filter { !$0.hasSuffix(".vtm") }.sorted() }
}
