import Dispatch
import LakeModel

/// The statistics of one DataArray (every component and the magnitude) as stats.md defines
/// them, in two passes over its decoded bytes: min/max/sum, then hist128 and Σ(v−mean)².
/// Random-access payloads are split into tuple-aligned ranges processed on both cores.
struct ArrayStatistics {
    let name: String
    let components: Int
    let budget: ProcessingBudget
    static let parallelThreshold: Int64 = 8 << 20

    /// One piece's data of the array (pieces of one file, or blocks of a multi-block set).
    struct Segment {
        var payload: any ArrayPayload
        var tuples: Int64
        var type: VTKScalarType
        var swap: Bool
    }

    struct Result {
        var components: [FieldStats]
        var magnitude: FieldStats
        var hasNaN: Bool
    }

    func compute(_ segments: [Segment]) throws -> Result {
        var work: [(Segment, Range<Int64>)] = []
        for segment in segments {
            let (expected, overflow) = segment.tuples.multipliedReportingOverflow(by: Int64(components * segment.type.size))
            if overflow {
                throw FormatError("DataArray '\(name)' declares \(segment.tuples) tuples, more than any file can hold")
            }
            if segment.payload.byteCount >= 0 && segment.payload.byteCount != expected {
                throw FormatError("DataArray '\(name)' should hold \(segment.tuples) tuples of \(components) \(segment.type.rawValue) "
                    + "(\(expected) bytes) but its data holds \(segment.payload.byteCount) bytes")
            }
            work += split(segment).map { (segment, $0) }
        }
        let firsts = try runConcurrently(work) { segment, range in try firstPass(segment, range) }
        var first = FirstState(series: Array(repeating: FirstPass(), count: components + 1))
        for (index, other) in firsts.enumerated() {
            for j in first.series.indices { first.series[j].merge(other.series[j]) }
            let segment = work[index].0
            if !segment.payload.randomAccess {
                // An ascii array's length is known only once parsed.
                let values = other.bytes / Int64(segment.type.size)
                if values != segment.tuples * Int64(components) {
                    throw FormatError("DataArray '\(name)' should hold \(segment.tuples * Int64(components)) values "
                        + "(\(segment.tuples) tuples × \(components) components) but holds \(values)")
                }
            }
        }
        let binnings = first.series.map { Binning(min: $0.min, max: $0.max) }
        let means = first.series.map { $0.mean ?? 0 }
        let seconds = try runConcurrently(work) { segment, range in try secondPass(segment, range, binnings, means) }
        var second = seconds[0]
        for other in seconds.dropFirst() {
            for j in second.indices { second[j].merge(other[j]) }
        }
        let stats = zip(first.series, second).map { FieldStats(first: $0, second: $1) }
        return Result(components: Array(stats.dropLast()), magnitude: stats.last!,
                      hasNaN: first.series.dropLast().contains { $0.nanCount > 0 })
    }

    func split(_ segment: Segment) -> [Range<Int64>] {
        let total = segment.payload.byteCount
        guard segment.payload.randomAccess, total >= Self.parallelThreshold else { return [0..<max(total, 0)] }
        let half = (segment.tuples / 2) * Int64(components * segment.type.size)
        return [0..<half, half..<total]
    }

    func runConcurrently<T>(_ ranges: [(Segment, Range<Int64>)],
                            _ work: @escaping (Segment, Range<Int64>) throws -> T) throws -> [T] {
        if ranges.count == 1 { return [try work(ranges[0].0, ranges[0].1)] }
        // Each iteration writes only its own slot, so the slots need no lock.
        let slots = UnsafeMutableBufferPointer<Result2<T>?>.allocate(capacity: ranges.count)
        slots.initialize(repeating: nil)
        defer { slots.deinitialize(); slots.deallocate() }
        nonisolated(unsafe) let (unsafeSlots, unsafeWork) = (slots, work)
        DispatchQueue.concurrentPerform(iterations: ranges.count) { i in
            do { unsafeSlots[i] = .success(try unsafeWork(ranges[i].0, ranges[i].1)) } catch { unsafeSlots[i] = .failure(error) }
        }
        return try slots.map { try $0!.get() }
    }

    enum Result2<T> {
        case success(T)
        case failure(any Error)
        func get() throws -> T {
            switch self {
            case .success(let value): return value
            case .failure(let error): throw error
            }
        }
    }

    struct FirstState {
        var series: [FirstPass]
        var bytes: Int64 = 0
    }

    /// Delivers whole tuples from a payload's pieces, carrying a partial tuple across pieces.
    func forEachTupleRun(_ segment: Segment, _ range: Range<Int64>,
                         _ body: (UnsafeRawBufferPointer) -> Void) throws -> Int64 {
        var carry = [UInt8]()
        var total: Int64 = 0
        let size = components * segment.type.size
        try segment.payload.read(range, budget: budget) { piece in
            total += Int64(piece.count)
            var offset = 0
            if !carry.isEmpty {
                let need = min(size - carry.count, piece.count)
                carry += piece[0..<need]
                offset = need
                if carry.count == size {
                    carry.withUnsafeBytes { body($0) }
                    carry.removeAll(keepingCapacity: true)
                }
            }
            let whole = (piece.count - offset) / size * size
            if whole > 0 { body(UnsafeRawBufferPointer(rebasing: piece[offset..<(offset + whole)])) }
            carry += piece[(offset + whole)...]
        }
        return total
    }

    func firstPass(_ segment: Segment, _ range: Range<Int64>) throws -> FirstState {
        var state = FirstState(series: Array(repeating: FirstPass(), count: components + 1))
        let (type, k, swap) = (segment.type, components, segment.swap)
        state.bytes = try forEachTupleRun(segment, range) { bytes in
            Kernels.first(type, bytes, k: k, swap: swap, into: &state.series)
        }
        return state
    }

    func secondPass(_ segment: Segment, _ range: Range<Int64>, _ binnings: [Binning], _ means: [Double]) throws -> [SecondPass] {
        let state = SecondState(binnings: binnings, means: means)
        let (type, k, swap) = (segment.type, components, segment.swap)
        _ = try forEachTupleRun(segment, range) { bytes in
            Kernels.second(type, bytes, k: k, swap: swap, into: state)
        }
        return state.result()
    }
}

/// The inner loops. `first`/`second` switch on the scalar type so each loop is compiled for a
/// concrete type (an existential would cost a witness-table call per value).
enum Kernels {
    static func first(_ type: VTKScalarType, _ bytes: UnsafeRawBufferPointer, k: Int, swap: Bool, into series: inout [FirstPass]) {
        switch type {
        case .int8: first(LoadInt8.self, bytes, k: k, swap: swap, into: &series)
        case .uint8: first(LoadUInt8.self, bytes, k: k, swap: swap, into: &series)
        case .int16: first(LoadInt16.self, bytes, k: k, swap: swap, into: &series)
        case .uint16: first(LoadUInt16.self, bytes, k: k, swap: swap, into: &series)
        case .int32: first(LoadInt32.self, bytes, k: k, swap: swap, into: &series)
        case .uint32: first(LoadUInt32.self, bytes, k: k, swap: swap, into: &series)
        case .int64: first(LoadInt64.self, bytes, k: k, swap: swap, into: &series)
        case .uint64: first(LoadUInt64.self, bytes, k: k, swap: swap, into: &series)
        case .float32: first(LoadFloat32.self, bytes, k: k, swap: swap, into: &series)
        case .float64: first(LoadFloat64.self, bytes, k: k, swap: swap, into: &series)
        }
    }

    static func second(_ type: VTKScalarType, _ bytes: UnsafeRawBufferPointer, k: Int, swap: Bool, into state: SecondState) {
        switch type {
        case .int8: second(LoadInt8.self, bytes, k: k, swap: swap, into: state)
        case .uint8: second(LoadUInt8.self, bytes, k: k, swap: swap, into: state)
        case .int16: second(LoadInt16.self, bytes, k: k, swap: swap, into: state)
        case .uint16: second(LoadUInt16.self, bytes, k: k, swap: swap, into: state)
        case .int32: second(LoadInt32.self, bytes, k: k, swap: swap, into: state)
        case .uint32: second(LoadUInt32.self, bytes, k: k, swap: swap, into: state)
        case .int64: second(LoadInt64.self, bytes, k: k, swap: swap, into: state)
        case .uint64: second(LoadUInt64.self, bytes, k: k, swap: swap, into: state)
        case .float32: second(LoadFloat32.self, bytes, k: k, swap: swap, into: state)
        case .float64: second(LoadFloat64.self, bytes, k: k, swap: swap, into: state)
        }
    }

    @inline(__always)
    static func first<L: ScalarLoading>(_ loader: L.Type, _ bytes: UnsafeRawBufferPointer, k: Int, swap: Bool,
                                        into series: inout [FirstPass]) {
        guard let base = bytes.baseAddress else { return }
        let size = L.size
        let tuples = bytes.count / (k * size)
        series.withUnsafeMutableBufferPointer { s in
            if k == 1 {
                var values = s[0], magnitudes = s[1]
                for t in 0..<tuples {
                    let v = L.load(base, t * size, swap: swap)
                    if v.isNaN {
                        values.nanCount += 1
                        magnitudes.nanCount += 1
                    } else {
                        values.add(v)
                        magnitudes.add(Swift.abs(v))
                    }
                }
                s[0] = values
                s[1] = magnitudes
                return
            }
            var offset = 0
            for _ in 0..<tuples {
                var squares = 0.0
                var anyNaN = false
                for j in 0..<k {
                    let v = L.load(base, offset, swap: swap)
                    offset += size
                    if v.isNaN {
                        s[j].nanCount += 1
                        anyNaN = true
                    } else {
                        s[j].add(v)
                        squares += v * v
                    }
                }
                if anyNaN { s[k].nanCount += 1 } else { s[k].add(squares.squareRoot()) }
            }
        }
    }

    @inline(__always)
    static func second<L: ScalarLoading>(_ loader: L.Type, _ bytes: UnsafeRawBufferPointer, k: Int, swap: Bool, into state: SecondState) {
        guard let base = bytes.baseAddress else { return }
        let size = L.size
        let tuples = bytes.count / (k * size)
        if k == 1 {
            for t in 0..<tuples {
                let v = L.load(base, t * size, swap: swap)
                if !v.isNaN {
                    state.add(0, v)
                    state.add(1, Swift.abs(v))
                }
            }
            return
        }
        var offset = 0
        for _ in 0..<tuples {
            var squares = 0.0
            var anyNaN = false
            for j in 0..<k {
                let v = L.load(base, offset, swap: swap)
                offset += size
                if v.isNaN { anyNaN = true } else {
                    state.add(j, v)
                    squares += v * v
                }
            }
            if !anyNaN { state.add(k, squares.squareRoot()) }
        }
    }
}

/// Pass-2 state in flat buffers: per series the binning (first edge, scale, 129 edges), the
/// mean, 128 counts and a compensated Σ(v−mean)².
final class SecondState {
    let series: Int
    let firsts: UnsafeMutablePointer<Double>
    let scales: UnsafeMutablePointer<Double>
    let edges: UnsafeMutablePointer<Double>
    let valid: UnsafeMutablePointer<Bool>
    let means: UnsafeMutablePointer<Double>
    let counts: UnsafeMutablePointer<Int64>
    let squares: UnsafeMutablePointer<Double>
    let compensation: UnsafeMutablePointer<Double>
    static let bins = Binning.bins

    init(binnings: [Binning], means: [Double]) {
        series = binnings.count
        firsts = .allocate(capacity: series)
        scales = .allocate(capacity: series)
        edges = .allocate(capacity: series * (Self.bins + 1))
        valid = .allocate(capacity: series)
        self.means = .allocate(capacity: series)
        counts = .allocate(capacity: series * Self.bins)
        counts.initialize(repeating: 0, count: series * Self.bins)
        squares = .allocate(capacity: series)
        squares.initialize(repeating: 0, count: series)
        compensation = .allocate(capacity: series)
        compensation.initialize(repeating: 0, count: series)
        for (j, binning) in binnings.enumerated() {
            firsts[j] = binning.first
            scales[j] = Double(Self.bins) / (binning.last - binning.first)
            valid[j] = binning.valid
            self.means[j] = means[j]
            for i in 0...Self.bins { edges[j * (Self.bins + 1) + i] = binning.edges[i] }
        }
    }

    deinit {
        for pointer in [firsts, scales, edges, means, squares, compensation] { pointer.deallocate() }
        valid.deallocate()
        counts.deallocate()
    }

    /// numpy's binning: an initial guess from the scaled offset, then corrected against the
    /// edges, so the bin is the one the edges define (values equal to the last edge go last).
    @inline(__always) func add(_ j: Int, _ v: Double) {
        let d = v - means[j]
        let term = d * d
        let t = squares[j] + term
        if squares[j] >= term { compensation[j] += (squares[j] - t) + term } else { compensation[j] += (term - t) + squares[j] }
        squares[j] = t
        guard valid[j] else { return }
        var i = Int((v - firsts[j]) * scales[j])
        if i >= Self.bins { i = Self.bins - 1 }
        if i < 0 { i = 0 }
        let e = edges + j * (Self.bins + 1)
        if v < e[i] {
            i -= 1
        } else if i != Self.bins - 1 && v >= e[i + 1] {
            i += 1
        }
        counts[j * Self.bins + i] += 1
    }

    func result() -> [SecondPass] {
        (0..<series).map { j in
            var pass = SecondPass()
            pass.hist = Array(UnsafeBufferPointer(start: counts + j * Self.bins, count: Self.bins))
            pass.squares = squares[j]
            pass.compensation = compensation[j]
            return pass
        }
    }
}
