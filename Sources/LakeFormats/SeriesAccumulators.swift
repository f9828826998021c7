import LakeModel

/// Pass 1 over a series: count, NaNs, min, max and a compensated (Neumaier) sum.
struct FirstPass: Sendable {
    var count: Int64 = 0
    var nanCount: Int64 = 0
    var min = Double.infinity
    var max = -Double.infinity
    var sum = 0.0
    var compensation = 0.0

    @inline(__always) mutating func add(_ v: Double) {
        count += 1
        if v < min { min = v }
        if v > max { max = v }
        let t = sum + v
        if Swift.abs(sum) >= Swift.abs(v) { compensation += (sum - t) + v } else { compensation += (v - t) + sum }
        sum = t
    }

    mutating func merge(_ other: FirstPass) {
        count += other.count
        nanCount += other.nanCount
        min = Swift.min(min, other.min)
        max = Swift.max(max, other.max)
        add(other.sum, compensated: other.compensation)
    }

    private mutating func add(_ v: Double, compensated c: Double) {
        let t = sum + v
        if Swift.abs(sum) >= Swift.abs(v) { compensation += (sum - t) + v } else { compensation += (v - t) + sum }
        sum = t
        compensation += c
    }

    var mean: Double? { count > 0 ? (sum + compensation) / Double(count) : nil }
}

/// The numpy-compatible binning of pass 2: `histogram(v, bins=128, range=(min, max))`, with the
/// range widened by 0.5 on each side when min == max.
struct Binning: Sendable {
    static let bins = 128
    let first: Double
    let last: Double
    let edges: [Double]
    let valid: Bool

    init(min: Double, max: Double) {
        var first = min, last = max
        if first == last {
            first -= 0.5
            last += 0.5
        }
        self.first = first
        self.last = last
        valid = first.isFinite && last.isFinite
        // numpy.linspace(first, last, 129): i·step + first, the last edge exactly `last`.
        let delta = last - first
        let step = delta / Double(Self.bins)
        var edges = (0...Self.bins).map { i -> Double in
            step == 0 ? (Double(i) / Double(Self.bins)) * delta + first : Double(i) * step + first
        }
        edges[Self.bins] = last
        self.edges = edges
    }

    /// The bin of `v`: a guess from the scaled offset, corrected against the edges as numpy does,
    /// so the result is the bin the edges define. `SecondKernel.add` inlines the same arithmetic.
    @inline(__always) func bin(_ v: Double) -> Int {
        var i = Int((v - first) * (Double(Self.bins) / (last - first)))
        if i >= Self.bins { i = Self.bins - 1 }
        if i < 0 { i = 0 }
        if v < edges[i] {
            i -= 1
        } else if i != Self.bins - 1 && v >= edges[i + 1] {
            i += 1
        }
        return i
    }
}

/// Pass 2 over a series: the histogram and Σ(v − mean)², compensated.
struct SecondPass: Sendable {
    var hist = [Int64](repeating: 0, count: Binning.bins)
    var squares = 0.0
    var compensation = 0.0

    @inline(__always) mutating func add(_ d: Double) {
        let t = squares + d
        if squares >= d { compensation += (squares - t) + d } else { compensation += (d - t) + squares }
        squares = t
    }

    mutating func merge(_ other: SecondPass) {
        for i in 0..<Binning.bins { hist[i] += other.hist[i] }
        add(other.squares)
        compensation += other.compensation
    }
}

extension FieldStats {
    init(first: FirstPass, second: SecondPass?) {
        guard first.count > 0, let mean = first.mean else {
            self.init(count: 0, nanCount: first.nanCount, min: nil, max: nil, mean: nil, stdev: nil,
                      hist128: Array(repeating: 0, count: Binning.bins))
            return
        }
        let squares = second.map { $0.squares + $0.compensation } ?? .nan
        self.init(count: first.count, nanCount: first.nanCount, min: first.min, max: first.max, mean: mean,
                  stdev: (squares / Double(first.count)).squareRoot(),
                  hist128: second?.hist ?? Array(repeating: 0, count: Binning.bins))
    }
}
