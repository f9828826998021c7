import LakeModel
import LakeSystem

/// STL, binary or ASCII. Binary is recognised by its size (`84 + 50·count`), never by the
/// `solid` prefix, which some binary writers also put in their header.
public enum STLReader {
    public static func geometry(of file: ReadableFile, units: String?, budget: ProcessingBudget = .unlimited) throws -> Geometry {
        if file.size >= 84 {
            let countBytes = try file.bytes(at: 80, count: 4)
            let count = Int64(countBytes[0]) | Int64(countBytes[1]) << 8 | Int64(countBytes[2]) << 16 | Int64(countBytes[3]) << 24
            if file.size == 84 + 50 * count {
                return try readBinary(file, count: count, units: units, budget: budget)
            }
            let head = try file.bytes(at: 0, count: 5)
            if head != Array("solid".utf8) {
                throw FormatError("not an STL file: as binary STL its header claims \(count) triangles, which needs "
                    + "\(84 + 50 * count) bytes, but the file has \(file.size) bytes (truncated or not STL); "
                    + "and it does not start with 'solid' as ASCII STL does")
            }
        }
        do {
            var parser = ASCIISTLParser(file: file, budget: budget)
            return try parser.parse(units: units)
        } catch let error as FormatError where file.size >= 84 {
            let countBytes = try file.bytes(at: 80, count: 4)
            let count = Int64(countBytes[0]) | Int64(countBytes[1]) << 8 | Int64(countBytes[2]) << 16 | Int64(countBytes[3]) << 24
            throw FormatError("\(error.message) (read as ASCII STL; as binary STL its header claims \(count) triangles, "
                + "which needs \(84 + 50 * count) bytes, but the file has \(file.size))")
        }
    }

    static func readBinary(_ file: ReadableFile, count: Int64, units: String?, budget: ProcessingBudget) throws -> Geometry {
        var bounds = BoundsAccumulator()
        var triangle: Int64 = 0
        let recordsPerChunk = 20_000
        try file.forEachChunk(from: 84, chunkSize: 50 * recordsPerChunk) { chunk in
            try budget.check()
            var offset = 0
            while offset + 50 <= chunk.count {
                for vertex in 0..<3 {
                    var point = [Double](repeating: 0, count: 3)
                    for axis in 0..<3 {
                        let bits = chunk.loadUnaligned(fromByteOffset: offset + 12 + vertex * 12 + axis * 4, as: UInt32.self)
                        let value = Double(Float(bitPattern: UInt32(littleEndian: bits)))
                        guard value.isFinite else {
                            throw FormatError("binary STL triangle \(triangle) has a non-finite coordinate (\(value))")
                        }
                        point[axis] = value
                    }
                    bounds.add(point)
                }
                triangle += 1
                offset += 50
            }
        }
        return Geometry(units: units, triangleCount: count, bounds: bounds.bounds)
    }
}

struct BoundsAccumulator {
    var low = [Double](repeating: .infinity, count: 3)
    var high = [Double](repeating: -.infinity, count: 3)
    var any = false

    mutating func add(_ point: [Double]) {
        any = true
        for axis in 0..<3 {
            low[axis] = Swift.min(low[axis], point[axis])
            high[axis] = Swift.max(high[axis], point[axis])
        }
    }

    var bounds: Bounds? { any ? Bounds(min: low, max: high) : nil }
}
