import Foundation
import Testing
@testable import LakeModel

@Suite struct StatsPoolingTests {
    /// Statistics of one series computed the plain way (the reference for pooling).
    func stats(_ values: [Double], low: Double? = nil, high: Double? = nil) -> FieldStats {
        var lo = low ?? values.min()!, hi = high ?? values.max()!
        if lo == hi { (lo, hi) = (lo - 0.5, hi + 0.5) }
        let mean = values.reduce(0, +) / Double(values.count)
        let stdev = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        var hist = [Int64](repeating: 0, count: 128)
        for v in values { hist[min(127, Int((v - lo) / ((hi - lo) / 128)))] += 1 }
        return FieldStats(count: Int64(values.count), nanCount: 0, min: values.min(), max: values.max(), mean: mean, stdev: stdev, hist128: hist)
    }

    @Test func poolingAgreesWithTheStatisticsOfAllValues() {
        var generator = SystemRandomNumberGenerator()
        let parts = (0..<4).map { k in (0..<(100 + 37 * k)).map { _ in Double.random(in: Double(k)...Double(k + 3), using: &generator) } }
        let pooled = StatsPooling.pool(parts.map { stats($0) })
        let all = stats(parts.flatMap { $0 })
        #expect(pooled.count == all.count && pooled.min == all.min && pooled.max == all.max)
        #expect(abs(pooled.mean! - all.mean!) < 1e-12)
        #expect(abs(pooled.stdev! - all.stdev!) < 1e-12)
        #expect(pooled.hist128.reduce(0, +) == all.count)
    }

    @Test func histogramsOverTheSameRangeAddUpExactly() {
        let a = [0.0, 1, 2, 3, 10], b = [10.0, 5, 5, 0]
        let pooled = StatsPooling.pool([stats(a, low: 0, high: 10), stats(b, low: 0, high: 10)])
        #expect(pooled.hist128 == stats(a + b).hist128)
    }

    @Test func emptyAndConstantSeriesPool() {
        let empty = FieldStats(count: 0, nanCount: 3, min: nil, max: nil, mean: nil, stdev: nil, hist128: Array(repeating: 0, count: 128))
        let constant = stats([2, 2, 2])
        let pooled = StatsPooling.pool([empty, constant])
        #expect(pooled.count == 3 && pooled.nanCount == 3 && pooled.min == 2 && pooled.stdev == 0 && pooled.hist128[64] == 3)
        #expect(StatsPooling.pool([empty]).mean == nil)
    }

    @Test func fieldsThatDisagreeCannotCollapse() {
        let s = stats([1, 2, 3])
        func field(_ quantity: String?, components: Int = 1) -> Provision {
            .field(Field(label: "p", elementAssoc: .point, numComponents: components, numTuples: 3, dataType: "Float64", hasNan: false,
                         componentStats: [ComponentStats(name: "0", stats: s)], magnitudeStats: s, quantityType: quantity))
        }
        #expect(throws: Never.self) { try Collapse.union([("a", [field("PRESSURE")]), ("b", [field("PRESSURE")])]).get() }
        #expect(throws: UnionConflict.self) { try Collapse.union([("a", [field("PRESSURE")]), ("b", [field(nil)])]).get() }
        #expect(throws: UnionConflict.self) { try Collapse.union([("a", [field(nil)]), ("b", [field(nil, components: 3)])]).get() }
        // The intersection keeps what every source has.
        let kept = try? Collapse.intersection([[field(nil)], [field(nil), .geometry(Geometry(units: "m"))]]).get()
        #expect(kept?.count == 1)
    }
}
