import Foundation

/// Statistics of one series pooled over several objects (stats.md, "Aggregates"): count, min,
/// max and mean exact; stdev by the parallel-variance (Chan) formula; hist128 recomputed over
/// the pooled range by spreading each member's bins over the new bins in proportion to their
/// overlap (exact when the ranges agree; counts always sum to `count`).
public enum StatsPooling {
    public static func pool(_ parts: [FieldStats]) -> FieldStats {
        let used = parts.filter { $0.count > 0 && $0.min != nil && $0.max != nil && $0.mean != nil }
        let nanCount = parts.reduce(0) { $0 + $1.nanCount }
        let count = used.reduce(0) { $0 + $1.count }
        guard count > 0, let low = used.compactMap(\.min).min(), let high = used.compactMap(\.max).max() else {
            return FieldStats(count: 0, nanCount: nanCount, min: nil, max: nil, mean: nil, stdev: nil,
                              hist128: Array(repeating: 0, count: 128))
        }
        // Chan et al.: combine (n, mean, M2) pairwise.
        var n = 0.0, mean = 0.0, m2 = 0.0
        for part in used {
            let nb = Double(part.count), meanB = part.mean!, m2B = pow(part.stdev ?? 0, 2) * nb
            let delta = meanB - mean
            let total = n + nb
            mean += delta * nb / total
            m2 += m2B + delta * delta * n * nb / total
            n = total
        }
        let stdev = (max(0, m2 / n)).squareRoot()
        return FieldStats(count: count, nanCount: nanCount, min: low, max: high, mean: min(max(mean, low), high),
                          stdev: stdev, hist128: rebin(used, low: low, high: high))
    }

    static func rebin(_ parts: [FieldStats], low: Double, high: Double) -> [Int64] {
        var bins = [Int64](repeating: 0, count: 128)
        let (lo, hi) = low == high ? (low - 0.5, high + 0.5) : (low, high)
        let width = (hi - lo) / 128
        func bin(_ value: Double) -> Int { Swift.min(127, Swift.max(0, Int(((value - lo) / width).rounded(.down)))) }
        for part in parts {
            guard let pMin = part.min, let pMax = part.max, part.hist128.count == 128 else {
                if let value = part.mean { bins[bin(value)] += part.count }
                continue
            }
            if pMin == pMax {
                bins[bin(pMin)] += part.count
                continue
            }
            if pMin == lo && pMax == hi {
                for i in 0..<128 { bins[i] += part.hist128[i] }
                continue
            }
            let sourceWidth = (pMax - pMin) / 128
            for (i, c) in part.hist128.enumerated() where c > 0 {
                let a = pMin + Double(i) * sourceWidth, b = i == 127 ? pMax : pMin + Double(i + 1) * sourceWidth
                let first = bin(a), last = bin(Swift.max(a, b.nextDown))
                if first == last {
                    bins[first] += c
                    continue
                }
                // Largest-remainder split so the whole count lands somewhere.
                var shares: [(bin: Int, whole: Int64, rest: Double)] = []
                for j in first...last {
                    let overlap = Swift.min(b, lo + Double(j + 1) * width) - Swift.max(a, lo + Double(j) * width)
                    let exact = Double(c) * Swift.max(0, overlap) / (b - a)
                    shares.append((j, Int64(exact.rounded(.down)), exact - exact.rounded(.down)))
                }
                var left = c - shares.reduce(0) { $0 + $1.whole }
                for k in shares.indices.sorted(by: { shares[$0].rest > shares[$1].rest }) where left > 0 {
                    shares[k].whole += 1
                    left -= 1
                }
                for share in shares { bins[share.bin] += share.whole }
            }
        }
        return bins
    }
}
