import Foundation
import LakeModel
import LakeSystem
import Testing
@testable import LakeFormats

/// The mesh summary of every VTU/VTP fixture (every encoding, compressor, header width and byte
/// order, and a VTU and a VTP of mixed cell shapes) against what VTK's own readers say of it
/// (Tests/Fixtures/make_mesh_expectations.py → expected-mesh.json).
@Suite struct MeshSummaryTests {
    struct Expected: Decodable {
        var points: Int64
        var cells: Int64
        var bounds: Bounds?
        var cell_types: [String: Int64]
    }

    static let expected: [String: Expected] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: VTKFixtures.path("expected-mesh.json")))
        return try! JSONDecoder().decode([String: Expected].self, from: data)
    }()

    static let numbers = Dictionary(uniqueKeysWithValues: MeshSummary.cellTypeNames.map { ($0.value, $0.key) })

    @Test(arguments: expected.keys.sorted())
    func meshAsVTKReadsIt(_ name: String) throws {
        let want = try #require(Self.expected[name])
        let file = try ReadableFile(path: VTKFixtures.path(name))
        let mesh = try VTKDatasetReader.read(file, format: name.hasSuffix(".vtp") ? .vtp : .vtu).mesh
        #expect(mesh.points == want.points && mesh.cells == want.cells, "\(name): \(mesh)")
        #expect(mesh.bounds == want.bounds, "\(name): \(String(describing: mesh.bounds)) vs \(String(describing: want.bounds))")
        let byNumber = Dictionary(uniqueKeysWithValues: mesh.cellTypes.map { (String(Self.numbers[$0.key] ?? -1), $0.value) })
        #expect(byNumber == want.cell_types, "\(name): \(mesh.cellTypes)")
    }

    @Test func expectationsCoverMixedShapes() {
        #expect(Self.expected.count >= 50)
        #expect(Set(Self.expected["mixed-cells.vtu"]?.cell_types.keys ?? [:].keys).count >= 7)
        #expect(Set(Self.expected["mixed-cells.vtp"]?.cell_types.keys ?? [:].keys).count == 8)
    }

    /// Points' bounds skip NaN and infinities, whatever chunk boundaries split the values, in the
    /// vector loop (whole Float32 points) and the general one (anything else) alike.
    @Test func boundsSkipNonFiniteCoordinatesAcrossChunks() {
        var coordinates: [Float] = []
        for i in 0..<1000 { coordinates += [Float(i) * 0.5 - 100, Float(i % 7), -Float(i) * 0.25] }
        coordinates[30] = .nan; coordinates[31] = .infinity; coordinates[2999] = -.infinity; coordinates[0] = .nan
        // Extremes in the coordinates a chunk of 4,096 bytes starts with before its first whole
        // point (floats 1024 and 1025: a point's y and z).
        coordinates[1024] = 1e6; coordinates[1025] = -1e6
        let finite = { (axis: Int) in stride(from: axis, to: coordinates.count, by: 3).map { coordinates[$0] }.filter(\.isFinite) }
        let want = Bounds(min: (0..<3).map { Double(finite($0).min()!) }, max: (0..<3).map { Double(finite($0).max()!) })
        let bytes = coordinates.withUnsafeBytes { Array($0) }
        for type in [VTKScalarType.float32, .float64] {
            let data = type == .float32 ? bytes : coordinates.map(Double.init).withUnsafeBytes { Array($0) }
            for chunk in [data.count, 4096, 1001, 7] {
                let mesh = MeshAccumulator()
                mesh.begin(VTKDocument.DataArray(name: "Points", type: type, components: 3, section: "Points",
                                                 componentNames: [], format: .appended), swap: false)
                for start in stride(from: 0, to: data.count, by: chunk) {
                    data[start..<min(data.count, start + chunk)].withUnsafeBytes { mesh.consume($0) }
                }
                mesh.end()
                #expect(mesh.summary.bounds == want, "\(type) in chunks of \(chunk)")
            }
        }
    }

    @Test func pooledAddsCountsAndUnitesBounds() {
        let a = MeshSummary(points: 4, cells: 1, bounds: Bounds(min: [0, 0, 0], max: [1, 1, 1]), cellTypes: ["TETRA": 1])
        let b = MeshSummary(points: 8, cells: 2, bounds: Bounds(min: [-1, 0.5, 0], max: [0.5, 2, 1]), cellTypes: ["TETRA": 1, "QUAD": 1])
        let empty = MeshSummary(points: 0, cells: 0, bounds: nil, cellTypes: [:])
        #expect(MeshSummary.pooled([a, empty, b]) == MeshSummary(points: 12, cells: 3, bounds: Bounds(min: [-1, 0, 0], max: [1, 2, 1]),
                                                                 cellTypes: ["TETRA": 2, "QUAD": 1]))
        #expect(MeshSummary.pooled([]) == nil)
    }
}
