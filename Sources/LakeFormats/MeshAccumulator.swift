import LakeModel

/// Gathers a VTU's or VTP's mesh summary from its geometry and topology arrays while
/// `ArrayIntegrity` decodes them (so a compressed array is decoded once for both): the points'
/// bounds, a VTU's cell types, and a VTP's cells by their point counts (a polygon of 3 points is
/// a TRIANGLE, of 4 a QUAD, as VTK's own readers build them).
final class MeshAccumulator {
    private var low = [Double](repeating: .infinity, count: 3)
    private var high = [Double](repeating: -.infinity, count: 3)
    private var points: Int64 = 0
    private var cells: Int64 = 0
    private var types: [Int: Int64] = [:]

    private enum Kind { case points, cellTypes, offsets(section: String) }
    private var kind: Kind?
    private var type: VTKScalarType = .uint8
    private var swap = false
    private var carry: [UInt8] = []
    private var index: Int64 = 0
    private var previousOffset: Int64 = 0

    static let sections = ["Verts", "Lines", "Polys", "Strips"]

    /// Whether `array` is one the summary reads.
    func wants(_ array: VTKDocument.DataArray) -> Bool {
        guard array.values == .numbers else { return false }
        if array.section == "Points" { return array.components == 3 }
        if array.section == "Cells" { return array.name == "types" }
        return array.name == "offsets" && Self.sections.contains(array.section)
    }

    func add(_ piece: VTKDocument.Piece) {
        points += piece.points
        cells += piece.cells
    }

    func begin(_ array: VTKDocument.DataArray, swap: Bool) {
        kind = array.section == "Points" ? .points : array.section == "Cells" ? .cellTypes : .offsets(section: array.section)
        type = array.type
        self.swap = swap
        carry = []
        index = 0
        previousOffset = 0
    }

    /// The next decoded bytes of the array begun last (any split between values is carried).
    func consume(_ chunk: UnsafeRawBufferPointer) {
        guard kind != nil else { return }
        let size = type.size
        if !carry.isEmpty {
            let take = min(size - carry.count, chunk.count)
            carry += chunk[..<take]
            if carry.count == size { carry.withUnsafeBytes { values($0) }; carry = [] }
            values(UnsafeRawBufferPointer(rebasing: chunk[take...]))
            return
        }
        values(chunk)
    }

    func end() { kind = nil }

    private func values(_ bytes: UnsafeRawBufferPointer) {
        let size = type.size
        let whole = bytes.count / size * size
        guard let base = bytes.baseAddress else { return }
        for offset in stride(from: 0, to: whole, by: size) { take(Self.load(type, base, offset, swap: swap)) }
        if whole < bytes.count { carry = Array(bytes[whole...]) }
    }

    private func take(_ value: Double) {
        defer { index += 1 }
        switch kind {
        case .points:
            guard value.isFinite else { return }
            let axis = Int(index % 3)
            if value < low[axis] { low[axis] = value }
            if value > high[axis] { high[axis] = value }
        case .cellTypes:
            // A hostile file may store types as floats: no conversion may trap.
            types[Self.integer(value).map { Int($0) } ?? -1, default: 0] += 1
        case .offsets(let section):
            guard let end = Self.integer(value) else { return }
            let count = end - previousOffset
            previousOffset = end
            // Newer layouts start with a 0 that ends no cell.
            if index == 0 && count == 0 { return }
            switch section {
            case "Verts": types[count == 1 ? 1 : 2, default: 0] += 1
            case "Lines": types[count == 2 ? 3 : 4, default: 0] += 1
            case "Polys": types[count == 3 ? 5 : count == 4 ? 9 : 7, default: 0] += 1
            default: types[6, default: 0] += 1
            }
        case nil:
            break
        }
    }

    /// The value as an integer when it is one VTK could mean (finite, within ±2^53).
    static func integer(_ value: Double) -> Int64? {
        guard value.isFinite, abs(value) <= 9_007_199_254_740_992 else { return nil }
        return Int64(value.rounded(.towardZero))
    }

    static func load(_ type: VTKScalarType, _ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        switch type {
        case .int8: LoadInt8.load(base, offset, swap: swap)
        case .uint8: LoadUInt8.load(base, offset, swap: swap)
        case .int16: LoadInt16.load(base, offset, swap: swap)
        case .uint16: LoadUInt16.load(base, offset, swap: swap)
        case .int32: LoadInt32.load(base, offset, swap: swap)
        case .uint32: LoadUInt32.load(base, offset, swap: swap)
        case .int64: LoadInt64.load(base, offset, swap: swap)
        case .uint64: LoadUInt64.load(base, offset, swap: swap)
        case .float32: LoadFloat32.load(base, offset, swap: swap)
        case .float64: LoadFloat64.load(base, offset, swap: swap)
        }
    }

    var summary: MeshSummary {
        let bounded = (0..<3).allSatisfy { low[$0] <= high[$0] }
        return MeshSummary(points: points, cells: cells, bounds: bounded ? Bounds(min: low, max: high) : nil,
                           cellTypes: Dictionary(uniqueKeysWithValues: types.map { (MeshSummary.cellTypeName($0.key), $0.value) }))
    }
}
