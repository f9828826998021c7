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
    /// Counts of the cell types 0…255 (what `types` arrays hold), kept apart from `types`: a
    /// dictionary update per cell cost more than reading the array.
    private var smallTypes = [Int64](repeating: 0, count: 256)

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

    /// A fresh accumulator for a piece of the array begun last that starts at a whole value (at
    /// a point's first coordinate, for points), to be `merge`d back; nil for a VTP's offsets,
    /// whose cells each need the value before them.
    func piece() -> MeshAccumulator? {
        let piece = MeshAccumulator()
        switch kind {
        case .offsets?: return nil
        case .points?, .cellTypes?, nil: break
        }
        piece.kind = kind
        piece.type = type
        piece.swap = swap
        return piece
    }

    /// Adds what a `piece` gathered (its pieces in any order: bounds and counts do not depend on it).
    func merge(_ piece: MeshAccumulator) {
        for axis in 0..<3 {
            low[axis] = min(low[axis], piece.low[axis])
            high[axis] = max(high[axis], piece.high[axis])
        }
        for (number, count) in piece.types { types[number, default: 0] += count }
        for number in smallTypes.indices { smallTypes[number] += piece.smallTypes[number] }
        index += piece.index
    }

    private func values(_ bytes: UnsafeRawBufferPointer) {
        let size = type.size
        let whole = bytes.count / size * size
        guard let base = bytes.baseAddress else { return }
        switch (kind, type) {
        // The two arrays with a value per point or cell, in the types VTK writes them: loops
        // without a dispatch per value.
        case (.points?, .float32) where !swap:
            // A chunk may start inside a point (chunks are not cut at multiples of 12 bytes):
            // its first coordinates go through the general loop, the rest through the fast one.
            let lead = min(whole, Int((3 - index % 3) % 3) * 4)
            if lead > 0 { pointBounds(LoadFloat32.self, base, lead) }
            float32Bounds(base + lead, whole - lead)
        case (.points?, .float32): pointBounds(LoadFloat32.self, base, whole)
        case (.points?, .float64): pointBounds(LoadFloat64.self, base, whole)
        case (.cellTypes?, .uint8):
            for offset in 0..<whole { smallTypes[Int(base.load(fromByteOffset: offset, as: UInt8.self))] += 1 }
            index += Int64(whole)
        default:
            for offset in stride(from: 0, to: whole, by: size) { take(Self.load(type, base, offset, swap: swap)) }
        }
        if whole < bytes.count { carry = Array(bytes[whole...]) }
    }

    /// Float32 points in the machine's byte order, whole points from the start: one point a
    /// vector (x, y, z, z), non-finite coordinates masked out. Four times faster than the
    /// general loop, which point clouds (all points, few field values) made count.
    private func float32Bounds(_ base: UnsafeRawPointer, _ count: Int) {
        let points = count / 12
        var lo = SIMD4<Float>(repeating: .infinity), hi = SIMD4<Float>(repeating: -.infinity)
        for i in 0..<points {
            let p = base + i * 12
            let v = SIMD4<Float>(p.loadUnaligned(as: Float.self), p.loadUnaligned(fromByteOffset: 4, as: Float.self),
                                 p.loadUnaligned(fromByteOffset: 8, as: Float.self), p.loadUnaligned(fromByteOffset: 8, as: Float.self))
            // NaN and ±inf fail one of these comparisons; they then change neither bound.
            // Compare and select: the stdlib's pointwiseMin/Max compile to calls here.
            let finite = (v .< SIMD4<Float>(repeating: .infinity)) .& (v .> SIMD4<Float>(repeating: -.infinity))
            lo.replace(with: v, where: finite .& (v .< lo))
            hi.replace(with: v, where: finite .& (v .> hi))
        }
        for axis in 0..<3 {
            if lo[axis] <= hi[axis] {
                low[axis] = min(low[axis], Double(lo[axis]))
                high[axis] = max(high[axis], Double(hi[axis]))
            }
        }
        index += Int64(points * 3)
        // A trailing part of a point (a chunk that split one) goes through the general loop.
        let rest = count - points * 12
        if rest > 0 { pointBounds(LoadFloat32.self, base + points * 12, rest) }
    }

    private func pointBounds<L: ScalarLoading>(_ loader: L.Type, _ base: UnsafeRawPointer, _ count: Int) {
        var axis = Int(index % 3)
        for offset in stride(from: 0, to: count, by: L.size) {
            let value = L.load(base, offset, swap: swap)
            if value.isFinite {
                if value < low[axis] { low[axis] = value }
                if value > high[axis] { high[axis] = value }
            }
            axis = axis == 2 ? 0 : axis + 1
        }
        index += Int64(count / L.size)
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
            if let number = Self.integer(value), number >= 0, number < 256 {
                smallTypes[Int(number)] += 1
            } else {
                types[Self.integer(value).map { Int($0) } ?? -1, default: 0] += 1
            }
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
        var all = types
        for (number, count) in smallTypes.enumerated() where count > 0 { all[number, default: 0] += count }
        return MeshSummary(points: points, cells: cells, bounds: bounded ? Bounds(min: low, max: high) : nil,
                           cellTypes: Dictionary(uniqueKeysWithValues: all.map { (MeshSummary.cellTypeName($0.key), $0.value) }))
    }
}
