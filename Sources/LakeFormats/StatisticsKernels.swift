/// The inner loops of the statistics, in two steps per run of tuples: the tuples are decoded
/// into one contiguous run of doubles per series (each component, then the magnitude), and the
/// kernels below go over those runs with 4-lane vectors. Only the decoding knows the scalar
/// type, and it is compiled once per type (a `switch` over concrete loaders); the kernels know
/// only doubles. Buffers are made once per array and reused for every run.
final class SeriesRuns {
    /// Tuples decoded at a time: the runs of a 9-component array (10 series) stay in L2. Wide
    /// arrays decode fewer, so that the runs stay within `budget` bytes: 2,048 tuples of an
    /// array of 4,096 components took 64 MiB per thread.
    static let tuples = 2048
    static let budget = 1 << 20
    let components: Int
    let capacity: Int
    let values: UnsafeMutablePointer<Double>
    private(set) var count = 0

    init(components: Int) {
        self.components = components
        capacity = Swift.max(4, Swift.min(Self.tuples, Self.budget / ((components + 1) * 8)) & ~3)
        values = .allocate(capacity: (components + 1) * capacity)
    }

    deinit { values.deallocate() }

    var seriesCount: Int { components + 1 }

    func series(_ j: Int) -> UnsafeMutablePointer<Double> { values + j * capacity }

    /// Decodes whole tuples from `bytes` (at most `capacity` of them at a time), calling `body`
    /// after each batch.
    func forEachBatch(_ type: VTKScalarType, _ bytes: UnsafeRawBufferPointer, swap: Bool, _ body: (SeriesRuns) -> Void) {
        switch type {
        case .int8: forEachBatch(LoadInt8.self, bytes, swap: swap, body)
        case .uint8: forEachBatch(LoadUInt8.self, bytes, swap: swap, body)
        case .int16: forEachBatch(LoadInt16.self, bytes, swap: swap, body)
        case .uint16: forEachBatch(LoadUInt16.self, bytes, swap: swap, body)
        case .int32: forEachBatch(LoadInt32.self, bytes, swap: swap, body)
        case .uint32: forEachBatch(LoadUInt32.self, bytes, swap: swap, body)
        case .int64: forEachBatch(LoadInt64.self, bytes, swap: swap, body)
        case .uint64: forEachBatch(LoadUInt64.self, bytes, swap: swap, body)
        case .float32: forEachBatch(LoadFloat32.self, bytes, swap: swap, body)
        case .float64: forEachBatch(LoadFloat64.self, bytes, swap: swap, body)
        }
    }

    @inline(__always)
    private func forEachBatch<L: ScalarLoading>(_ loader: L.Type, _ bytes: UnsafeRawBufferPointer, swap: Bool,
                                                _ body: (SeriesRuns) -> Void) {
        guard let base = bytes.baseAddress else { return }
        let k = components, tupleSize = k * L.size
        let tuples = bytes.count / tupleSize
        var start = 0
        while start < tuples {
            let n = min(capacity, tuples - start)
            let first = base + start * tupleSize
            if swap { decode(L.self, first, n, swapped: true) } else { decode(L.self, first, n, swapped: false) }
            count = n
            body(self)
            start += n
        }
    }

    /// Components into their runs, then the magnitude (|x| for one component; otherwise the root
    /// of the squares summed in component order — NaN when any component is NaN).
    @inline(__always)
    private func decode<L: ScalarLoading>(_ loader: L.Type, _ base: UnsafeRawPointer, _ n: Int, swapped: Bool) {
        let k = components, size = L.size
        let magnitude = series(k)
        if k == 1 {
            let out = series(0)
            for t in 0..<n {
                let v = L.load(base, t &* size, swap: swapped)
                out[t] = v
                magnitude[t] = v.magnitude
            }
            return
        }
        for j in 0..<k {
            let out = series(j)
            for t in 0..<n { out[t] = L.load(base, (t &* k &+ j) &* size, swap: swapped) }
        }
        let x0 = series(0)
        for t in 0..<n { magnitude[t] = x0[t] * x0[t] }
        for j in 1..<k {
            let x = series(j)
            for t in 0..<n { magnitude[t] += x[t] * x[t] }
        }
        for t in 0..<n { magnitude[t] = magnitude[t].squareRoot() }
    }
}

typealias Lanes = SIMD4<Double>

/// Pass 1 over one series, four lanes at a time: NaNs counted and left out, min, max, and a
/// compensated (Neumaier) sum per lane; `result` merges the lanes, compensated.
struct FirstKernel {
    private var low = Lanes(repeating: .infinity)
    private var high = Lanes(repeating: -.infinity)
    private var sum = Lanes(repeating: 0)
    private var compensation = Lanes(repeating: 0)
    private var nans = Lanes(repeating: 0)
    private var seen: Int64 = 0
    /// Values after the last whole vector of a batch.
    private var rest = FirstPass()

    mutating func add(_ values: UnsafePointer<Double>, _ n: Int) {
        let raw = UnsafeRawPointer(values)
        var (low, high, sum, compensation, nans) = (low, high, sum, compensation, nans)
        var i = 0
        while i &+ 4 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i &* 8, as: Lanes.self)
            let isNaN = x .!= x
            nans += Lanes(repeating: 0).replacing(with: 1, where: isNaN)
            let clean = x.replacing(with: 0, where: isNaN)
            // Compare and select (a NaN compares false, so it is never taken): the stdlib's
            // pointwiseMin/Max are calls, not vector instructions.
            low = low.replacing(with: x, where: x .< low)
            high = high.replacing(with: x, where: x .> high)
            let t = sum + clean
            let sumIsLarger = sum.replacing(with: -sum, where: sum .< 0) .>= clean.replacing(with: -clean, where: clean .< 0)
            compensation += ((clean - t) + sum).replacing(with: (sum - t) + clean, where: sumIsLarger)
            sum = t
            i &+= 4
        }
        (self.low, self.high, self.sum, self.compensation, self.nans) = (low, high, sum, compensation, nans)
        seen += Int64(i)
        while i < n {
            let v = values[i]
            if v.isNaN { rest.nanCount += 1 } else { rest.add(v) }
            i += 1
        }
    }

    var result: FirstPass {
        var pass = rest
        for lane in 0..<4 {
            let lanePass = FirstPass(count: 0, nanCount: Int64(nans[lane]), min: low[lane], max: high[lane],
                                     sum: sum[lane], compensation: compensation[lane])
            pass.merge(lanePass)
        }
        pass.count += seen - Int64(nans.sum())
        return pass
    }
}

/// Pass 2 over one series: Σ(v − mean)² (Kahan per lane: every term is ≥ 0) and the numpy
/// histogram, counted into four interleaved tables so consecutive values in one bin do not
/// wait on each other's increment.
final class SecondKernel {
    /// False when min or max is infinite: no histogram then.
    private let binned: Bool
    private let mean: Double
    private let first: Double
    private let scale: Double
    /// The 129 edges, and 4 tables of 128 counts.
    private let edges: UnsafeMutablePointer<Double>
    private let counts: UnsafeMutablePointer<Int64>
    private var squares = Lanes(repeating: 0)
    private var compensation = Lanes(repeating: 0)
    private var rest = SecondPass()

    /// Whether the series holds NaNs (pass 1 knows): a series without any skips the test.
    private let hasNaN: Bool

    init(binning: Binning, mean: Double, hasNaN: Bool = true) {
        self.hasNaN = hasNaN
        binned = binning.valid
        self.mean = mean
        first = binning.first
        scale = Double(Binning.bins) / (binning.last - binning.first)
        edges = .allocate(capacity: Binning.bins + 1)
        for i in 0...Binning.bins { edges[i] = binning.edges[i] }
        counts = .allocate(capacity: 4 * Binning.bins)
        counts.initialize(repeating: 0, count: 4 * Binning.bins)
    }

    deinit {
        edges.deallocate()
        counts.deallocate()
    }

    func add(_ values: UnsafePointer<Double>, _ n: Int) {
        let raw = UnsafeRawPointer(values)
        let means = Lanes(repeating: mean)
        var (squares, compensation) = (squares, compensation)
        var i = 0
        while i &+ 4 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i &* 8, as: Lanes.self)
            let d = (x - means).replacing(with: 0, where: x .!= x)
            let y = d * d - compensation
            let t = squares + y
            compensation = (t - squares) - y
            squares = t
            i &+= 4
        }
        (self.squares, self.compensation) = (squares, compensation)
        while i < n {
            let v = values[i]
            if !v.isNaN { rest.add((v - mean) * (v - mean)) }
            i += 1
        }
        guard binned else { return }
        if hasNaN {
            for t in 0..<n where !values[t].isNaN { count(values[t], lane: t & 3) }
        } else {
            var t = 0
            while t &+ 4 <= n {
                count(values[t], lane: 0)
                count(values[t &+ 1], lane: 1)
                count(values[t &+ 2], lane: 2)
                count(values[t &+ 3], lane: 3)
                t &+= 4
            }
            while t < n {
                count(values[t], lane: 0)
                t &+= 1
            }
        }
    }

    /// numpy's bin of a finite `v` within [min, max] (so the conversion to Int cannot trap): a
    /// guess from the scaled offset, then one step down or up when an edge says so.
    @inline(__always) private func count(_ v: Double, lane: Int) {
        let last = Binning.bins - 1
        var b = Int((v - first) * scale)
        b = b > last ? last : (b < 0 ? 0 : b)
        let down = v < edges[b]
        let up = !down && b != last && v >= edges[b &+ 1]
        b = b &+ (up ? 1 : 0) &- (down ? 1 : 0)
        counts[lane &* Binning.bins &+ b] &+= 1
    }

    var result: SecondPass {
        var pass = rest
        for lane in 0..<4 {
            var lanePass = SecondPass()
            lanePass.squares = squares[lane]
            lanePass.compensation = -compensation[lane]
            pass.merge(lanePass)
        }
        for b in 0..<Binning.bins {
            pass.hist[b] = counts[b] + counts[Binning.bins + b] + counts[2 * Binning.bins + b] + counts[3 * Binning.bins + b]
        }
        return pass
    }
}
