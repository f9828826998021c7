import Foundation

/// Lake's processing of a large VTU (appended raw, and its zlib twin) against VTK's Python
/// reader + numpy computing the same statistics, in one run. Lake's time is the whole
/// `lake process` command (start-up, MD5 of the blob, both statistics passes); the baseline's is
/// measured inside Python around the read and the numpy calls (interpreter start-up excluded).
struct ProcessingBenchmark {
    let points: Int
    let rounds: Int
    let work: String
    let lake: String
    let python: String

    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("scripts").path

    func run() throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: work)
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: work) }
        var rows: [String] = []
        for variant in ["raw", "zlib"] {
            let file = "\(work)/big-\(variant).vtu"
            print("writing \(file) with VTK (\(points) points) …")
            try Bench.run([python, Self.scripts + "/make_big_vtu.py", file, String(points)] + (variant == "zlib" ? ["zlib"] : []))
            let size = Double((try fm.attributesOfItem(atPath: file)[.size] as? NSNumber)?.int64Value ?? 0)
            try Bench.run(["cat", file])   // both sides read from the page cache
            var lakeTimes: [Double] = [], baseTimes: [Double] = []
            var peakKiB = 0
            for round in 1...rounds {
                let store = "\(work)/store"
                try? fm.removeItem(atPath: store)
                try Bench.run([lake, "init", "--store", store])
                try Bench.run([lake, "upload", file, "--store", store, "--no-wait"])
                let measured = try Bench.run([lake, "process", "--store", store])
                lakeTimes.append(measured.seconds)
                peakKiB = max(peakKiB, measured.peakKiB)
                let output = try Bench.capture([python, Self.scripts + "/vtk_numpy_stats.py", file])
                baseTimes.append(Double(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? .nan)
                print("  round \(round): lake process \(Bench.format(measured.seconds)) s, VTK+numpy \(Bench.format(baseTimes.last!)) s")
            }
            let lakeMedian = Bench.median(lakeTimes), baseMedian = Bench.median(baseTimes)
            let mb = size / 1e6
            rows.append("\(variant.padding(toLength: 5, withPad: " ", startingAt: 0)) \(Bench.format(mb, 0)) MB   VTK+numpy \(Bench.format(mb / baseMedian, 0)) MB/s   "
                + "lake \(Bench.format(mb / lakeMedian, 0)) MB/s   speed-up \(Bench.format(baseMedian / lakeMedian))×   "
                + "lake peak memory \(Bench.format(Double(peakKiB) / 1024, 0)) MiB")
        }
        print("")
        print("processing, medians of \(rounds) rounds (MB/s of file size; goal: speed-up ≥ 2×, memory ≤ ¼ of the uncompressed file):")
        for row in rows { print("  " + row) }
    }
}
