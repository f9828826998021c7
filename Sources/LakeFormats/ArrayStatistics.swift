import LakeModel
import LakeSystem

/// The statistics of one DataArray (every component and the magnitude) as stats.md defines
/// them, in two passes over its decoded bytes: min/max/sum, then hist128 and Σ(v−mean)².
/// Random-access payloads are split into tuple-aligned pieces processed on the cores free.
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
        }
        for segment in try decodedOnce(segments) {
            work += split(segment).map { (segment, $0) }
        }
        let firsts = try Self.runConcurrently(work) { try firstPass($0.0, $0.1) }
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
        let nans = first.series.map { $0.nanCount > 0 }
        let seconds = try Self.runConcurrently(work) { try secondPass($0.0, $0.1, binnings, means, nans) }
        var second = seconds[0]
        for other in seconds.dropFirst() {
            for j in second.indices { second[j].merge(other[j]) }
        }
        let stats = zip(first.series, second).map { FieldStats(first: $0, second: $1) }
        return Result(components: Array(stats.dropLast()), magnitude: stats.last!,
                      hasNaN: first.series.dropLast().contains { $0.nanCount > 0 })
    }

    /// Most decoded bytes kept in memory between the passes, for all pieces of a field together
    /// (a manifest's field unites the arrays of all its blocks).
    static let decodedOnceLimit: Int64 = 48 << 20

    /// Compressed (or base64) arrays are decoded once while they fit in `decodedOnceLimit`, in
    /// pieces on the cores free (one thread for streamed blocks), and both passes read the decoded
    /// bytes: decompressing costs more than a pass. The rest are decoded again in each pass.
    func decodedOnce(_ segments: [Segment]) throws -> [Segment] {
        var result = segments
        var jobs: [(segment: Segment, range: Range<Int64>, storage: MemoryPayload.Storage)] = []
        var kept: Int64 = 0
        for (i, segment) in segments.enumerated() {
            let payload = segment.payload
            // Ascii arrays (byteCount -1) are parsed in each pass: their length is known only then.
            guard !(payload is RawPayload), payload.byteCount > 0,
                  kept + payload.byteCount <= Self.decodedOnceLimit else { continue }
            kept += payload.byteCount
            let storage = MemoryPayload.Storage(count: Int(payload.byteCount))
            jobs += split(segment).map { (segment, $0, storage) }
            result[i].payload = MemoryPayload(storage: storage, byteCount: payload.byteCount, encodedEnd: payload.encodedEnd)
        }
        guard !jobs.isEmpty else { return segments }
        // Each job writes only its own range of its own storage.
        _ = try Self.runConcurrently(jobs) { [budget] job in
            var offset = Int(job.range.lowerBound)
            try job.segment.payload.read(job.range, budget: budget) { piece in
                UnsafeMutableRawBufferPointer(rebasing: job.storage.bytes[offset..<(offset + piece.count)]).copyMemory(from: piece)
                offset += piece.count
            }
        }
        return result
    }

    /// Arrays this wide are not split: each thread's kernels take 5 KiB per series (its four
    /// interleaved histograms and the edges), 20 MiB at 4,096 components.
    static let widestSplit = 512

    /// Pieces of about this many decoded bytes, processed by whichever thread is free: enough
    /// of them that a core freed midway (a file's MD5 done) still finds work, each large enough
    /// that its kernels and buffers cost nothing beside it.
    static let pieceBytes: Int64 = 4 << 20

    func split(_ segment: Segment) -> [Range<Int64>] {
        let total = segment.payload.byteCount
        guard segment.payload.randomAccess, total >= Self.parallelThreshold, components <= Self.widestSplit else {
            return [0..<max(total, 0)]
        }
        return Self.pieces(of: total, tupleBytes: Int64(components * segment.type.size), decodeUnit: segment.payload.decodeUnit)
    }

    /// `total` decoded bytes (a whole number of tuples) cut at tuples into pieces: at least four
    /// per core, so that no core is left with the last one alone; but a piece that starts inside
    /// a compressed block decodes that block again, so a piece spans four blocks or more.
    static func pieces(of total: Int64, tupleBytes: Int64, decodeUnit: Int64) -> [Range<Int64>] {
        let wanted = max(Int64(4 * CoreShare.shared.cores), total / pieceBytes)
        let count = min(wanted, max(2, total / (4 * decodeUnit)))
        let tuples = total / tupleBytes
        return (0..<count).map { i in
            (tuples * i / count * tupleBytes)..<(i == count - 1 ? total : tuples * (i + 1) / count * tupleBytes)
        }
    }

    /// `work` on each item, on the cores `CoreShare` finds free (the caller's thread among them).
    static func runConcurrently<Item, T>(_ items: [Item], _ work: @escaping (Item) throws -> T) throws -> [T] {
        if items.count == 1 { return [try work(items[0])] }
        // Each call writes only its own slot, so the slots need no lock.
        let slots = UnsafeMutableBufferPointer<Result2<T>?>.allocate(capacity: items.count)
        slots.initialize(repeating: nil)
        defer { slots.deinitialize(); slots.deallocate() }
        nonisolated(unsafe) let (unsafeSlots, unsafeWork, unsafeItems) = (slots, work, items)
        CoreShare.shared.perform(items.count) { i in
            do { unsafeSlots[i] = .success(try unsafeWork(unsafeItems[i])) } catch { unsafeSlots[i] = .failure(error) }
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
        let progress = budget.progress
        try segment.payload.read(range, budget: budget) { piece in
            total += Int64(piece.count)
            progress?.advance(Int64(piece.count))
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
        let runs = SeriesRuns(components: components)
        var kernels = Array(repeating: FirstKernel(), count: components + 1)
        let (type, swap) = (segment.type, segment.swap)
        let bytes = try forEachTupleRun(segment, range) { bytes in
            runs.forEachBatch(type, bytes, swap: swap) { runs in
                for j in 0..<runs.seriesCount { kernels[j].add(runs.series(j), runs.count) }
            }
        }
        return FirstState(series: kernels.map(\.result), bytes: bytes)
    }

    func secondPass(_ segment: Segment, _ range: Range<Int64>, _ binnings: [Binning], _ means: [Double], _ nans: [Bool]) throws -> [SecondPass] {
        let runs = SeriesRuns(components: components)
        let kernels = binnings.indices.map { SecondKernel(binning: binnings[$0], mean: means[$0], hasNaN: nans[$0]) }
        let (type, swap) = (segment.type, segment.swap)
        _ = try forEachTupleRun(segment, range) { bytes in
            runs.forEachBatch(type, bytes, swap: swap) { runs in
                for j in 0..<runs.seriesCount { kernels[j].add(runs.series(j), runs.count) }
            }
        }
        return kernels.map(\.result)
    }
}
