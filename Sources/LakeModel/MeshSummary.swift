/// What a VTU or VTP describes beside its fields: how many points and cells, the points' bounds
/// and how many cells of each VTK cell type (`TETRA`, `HEXAHEDRON`, `TRIANGLE`, `QUAD`, …). A
/// manifest's is its blocks' pooled, and so is a case's over its members.
public struct MeshSummary: Hashable, Sendable, Codable {
    public var points: Int64
    public var cells: Int64
    /// Null when there are no points, or none with finite coordinates.
    public var bounds: Bounds?
    public var cellTypes: [String: Int64]

    public init(points: Int64, cells: Int64, bounds: Bounds?, cellTypes: [String: Int64]) {
        self.points = points
        self.cells = cells
        self.bounds = bounds
        self.cellTypes = cellTypes
    }

    enum CodingKeys: String, CodingKey {
        case points, cells, bounds
        case cellTypes = "cell_types"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(points, forKey: .points)
        try c.encode(cells, forKey: .cells)
        try c.encode(bounds, forKey: .bounds)
        try c.encode(cellTypes, forKey: .cellTypes)
    }

    /// Several meshes as one: counts added, bounds united; nil when there are none.
    public static func pooled(_ meshes: [MeshSummary]) -> MeshSummary? {
        guard var total = meshes.first else { return nil }
        for mesh in meshes.dropFirst() {
            total.points += mesh.points
            total.cells += mesh.cells
            total.cellTypes.merge(mesh.cellTypes, uniquingKeysWith: +)
            switch (total.bounds, mesh.bounds) {
            case (let a?, let b?):
                total.bounds = Bounds(min: zip(a.min, b.min).map { Swift.min($0, $1) }, max: zip(a.max, b.max).map { Swift.max($0, $1) })
            case (nil, let b?): total.bounds = b
            default: break
            }
        }
        return total
    }

    /// VTK's cell type numbers (vtkCellType.h) and the names the summary uses.
    public static let cellTypeNames: [Int: String] = [
        0: "EMPTY_CELL", 1: "VERTEX", 2: "POLY_VERTEX", 3: "LINE", 4: "POLY_LINE", 5: "TRIANGLE", 6: "TRIANGLE_STRIP",
        7: "POLYGON", 8: "PIXEL", 9: "QUAD", 10: "TETRA", 11: "VOXEL", 12: "HEXAHEDRON", 13: "WEDGE", 14: "PYRAMID",
        15: "PENTAGONAL_PRISM", 16: "HEXAGONAL_PRISM", 21: "QUADRATIC_EDGE", 22: "QUADRATIC_TRIANGLE", 23: "QUADRATIC_QUAD",
        24: "QUADRATIC_TETRA", 25: "QUADRATIC_HEXAHEDRON", 26: "QUADRATIC_WEDGE", 27: "QUADRATIC_PYRAMID",
        28: "BIQUADRATIC_QUAD", 29: "TRIQUADRATIC_HEXAHEDRON", 30: "QUADRATIC_LINEAR_QUAD", 31: "QUADRATIC_LINEAR_WEDGE",
        32: "BIQUADRATIC_QUADRATIC_WEDGE", 33: "BIQUADRATIC_QUADRATIC_HEXAHEDRON", 34: "BIQUADRATIC_TRIANGLE",
        35: "CUBIC_LINE", 36: "QUADRATIC_POLYGON", 37: "TRIQUADRATIC_PYRAMID", 41: "CONVEX_POINT_SET", 42: "POLYHEDRON",
        51: "PARAMETRIC_CURVE", 52: "PARAMETRIC_SURFACE", 53: "PARAMETRIC_TRI_SURFACE", 54: "PARAMETRIC_QUAD_SURFACE",
        55: "PARAMETRIC_TETRA_REGION", 56: "PARAMETRIC_HEX_REGION", 60: "HIGHER_ORDER_EDGE", 61: "HIGHER_ORDER_TRIANGLE",
        62: "HIGHER_ORDER_QUAD", 63: "HIGHER_ORDER_POLYGON", 64: "HIGHER_ORDER_TETRAHEDRON", 65: "HIGHER_ORDER_WEDGE",
        66: "HIGHER_ORDER_PYRAMID", 67: "HIGHER_ORDER_HEXAHEDRON", 68: "LAGRANGE_CURVE", 69: "LAGRANGE_TRIANGLE",
        70: "LAGRANGE_QUADRILATERAL", 71: "LAGRANGE_TETRAHEDRON", 72: "LAGRANGE_HEXAHEDRON", 73: "LAGRANGE_WEDGE",
        74: "LAGRANGE_PYRAMID", 75: "BEZIER_CURVE", 76: "BEZIER_TRIANGLE", 77: "BEZIER_QUADRILATERAL",
        78: "BEZIER_TETRAHEDRON", 79: "BEZIER_HEXAHEDRON", 80: "BEZIER_WEDGE", 81: "BEZIER_PYRAMID",
    ]

    public static func cellTypeName(_ number: Int) -> String { cellTypeNames[number] ?? "TYPE_\(number)" }
}
