import Foundation
@_spi(Benchmarks) import LakeFormats

/// The statistics kernels alone, one core, in memory: ns per analysed value (every component
/// and the magnitude) per pass, for the scalar types and widths simulation files use. The goal
/// (issue 13): at most 5 ns for Float32, Float64 and Int32 scalars.
struct KernelBenchmark {
    let tuples: Int
    let rounds: Int

    func run() {
        print("statistics kernels, one core, \(tuples) tuples, medians of \(rounds) rounds (ns per analysed value per pass):")
        print("  type     components   pass 1   pass 2")
        for (type, size) in [("Float32", 4), ("Float64", 8), ("Int32", 4), ("Int64", 8)] {
            for components in [1, 3, 9] {
                let count = tuples * components
                var bytes = [UInt8](repeating: 0, count: count * size)
                bytes.withUnsafeMutableBytes { raw in
                    for i in 0..<count {
                        let x = sin(Double(i) * 1e-3) * 500 + Double(i % 7)
                        switch type {
                        case "Float32": raw.storeBytes(of: Float(x + 101_325), toByteOffset: i * 4, as: Float.self)
                        case "Float64": raw.storeBytes(of: x + 300, toByteOffset: i * 8, as: Double.self)
                        case "Int32": raw.storeBytes(of: Int32(x), toByteOffset: i * 4, as: Int32.self)
                        default: raw.storeBytes(of: Int64(x) << 20, toByteOffset: i * 8, as: Int64.self)
                        }
                    }
                }
                var firsts: [Double] = [], seconds: [Double] = []
                for _ in 0..<rounds {
                    let timing = bytes.withUnsafeBytes { StatisticsTiming.time(typeName: type, components: components, bytes: $0) }!
                    firsts.append(timing.first)
                    seconds.append(timing.second)
                }
                let analysed = Double(tuples * (components + 1))
                print("  \(type.padding(toLength: 8, withPad: " ", startingAt: 0)) \(String(components).leftPad(10))   "
                    + "\(Bench.format(Bench.median(firsts) / analysed * 1e9).leftPad(6))   \(Bench.format(Bench.median(seconds) / analysed * 1e9).leftPad(6))")
            }
        }
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
