#if canImport(Glibc)
import Glibc
#endif

/// The statistics kernels timed on their own, on the calling thread, for `lake-bench kernels`
/// (docs/benchmarks.md): no file, no parsing, no second core.
@_spi(Benchmarks) public enum StatisticsTiming {
    /// Seconds spent in pass 1 and in pass 2 over `bytes`, tuples of `components` values of the
    /// VTK type named `typeName` in this machine's byte order; nil for an unknown type.
    public static func time(typeName: String, components: Int, bytes: UnsafeRawBufferPointer) -> (first: Double, second: Double)? {
        guard let type = VTKScalarType(rawValue: typeName) else { return nil }
        let runs = SeriesRuns(components: components)
        var firsts = Array(repeating: FirstKernel(), count: components + 1)
        let start = now()
        runs.forEachBatch(type, bytes, swap: false) { runs in
            for j in 0..<runs.seriesCount { firsts[j].add(runs.series(j), runs.count) }
        }
        let middle = now()
        let passes = firsts.map(\.result)
        let seconds = passes.map { SecondKernel(binning: Binning(min: $0.min, max: $0.max), mean: $0.mean ?? 0, hasNaN: $0.nanCount > 0) }
        let restart = now()
        runs.forEachBatch(type, bytes, swap: false) { runs in
            for j in 0..<runs.seriesCount { seconds[j].add(runs.series(j), runs.count) }
        }
        let end = now()
        let histograms = seconds.map(\.result.hist)
        // The counts are used, so nothing above can be left out by the optimiser.
        guard histograms.allSatisfy({ $0.reduce(0, +) >= 0 }) else { return nil }
        return (middle - start, end - restart)
    }

    private static func now() -> Double {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        return Double(clock.tv_sec) + Double(clock.tv_nsec) / 1e9
    }
}
