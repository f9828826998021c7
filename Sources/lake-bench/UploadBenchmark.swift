import Foundation

/// `lake upload` of one large file against `cp` of the same file into the same filesystem.
/// Both make the bytes durable (cp is followed by `sync FILE`; lake fsyncs before it returns).
/// Two Lake figures: `--no-wait` (bytes stored and hashed, object UPLOADED) and the default
/// (until READY, which includes computing the MD5 in processing).
struct UploadBenchmark {
    let sizeMiB: Int
    let rounds: Int
    let work: String
    let lake: String

    func run() throws {
        let fm = FileManager.default
        try? fm.removeItem(atPath: work)
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: work) }
        let source = work + "/input.bin"
        print("making a \(sizeMiB) MiB input of random bytes in \(work) …")
        try Bench.run(["dd", "if=/dev/urandom", "of=\(source)", "bs=1M", "count=\(sizeMiB)", "status=none"])
        // Warm the source into the page cache so every round reads it the same way.
        try Bench.run(["cat", source])

        var cp: [Double] = [], noWait: [Double] = [], ready: [Double] = []
        var peakKiB = 0
        for round in 1...rounds {
            try Bench.run(["sync"])
            cp.append(try Bench.run(["sh", "-c", "cp \(source) \(work)/copy.bin && sync \(work)/copy.bin"]).seconds)
            try fm.removeItem(atPath: work + "/copy.bin")

            try Bench.run(["sync"])
            try Bench.run([lake, "init", "--store", work + "/store-a"])
            let a = try Bench.run([lake, "upload", source, "--store", work + "/store-a", "--no-wait"])
            noWait.append(a.seconds)
            try fm.removeItem(atPath: work + "/store-a")

            try Bench.run(["sync"])
            try Bench.run([lake, "init", "--store", work + "/store-b"])
            let b = try Bench.run([lake, "upload", source, "--store", work + "/store-b"])
            ready.append(b.seconds)
            try fm.removeItem(atPath: work + "/store-b")
            peakKiB = max(peakKiB, a.peakKiB, b.peakKiB)
            print("round \(round): cp \(Bench.format(cp.last!)) s, lake --no-wait \(Bench.format(a.seconds)) s, lake (to READY) \(Bench.format(b.seconds)) s")
        }
        let bytes = Double(sizeMiB) * 1_048_576
        let mcp = Bench.median(cp), ma = Bench.median(noWait), mb = Bench.median(ready)
        print("")
        print("upload of \(sizeMiB) MiB, medians of \(rounds) rounds:")
        print("  cp + sync                    \(Bench.format(mcp)) s  \(Bench.format(bytes / mcp / 1_048_576, 0)) MiB/s")
        print("  lake upload --no-wait        \(Bench.format(ma)) s  \(Bench.format(bytes / ma / 1_048_576, 0)) MiB/s  ratio \(Bench.format(mcp / ma))")
        print("  lake upload (to READY, +MD5) \(Bench.format(mb)) s  \(Bench.format(bytes / mb / 1_048_576, 0)) MiB/s  ratio \(Bench.format(mcp / mb))")
        print("  lake peak memory             \(Bench.format(Double(peakKiB) / 1024, 1)) MiB")
        print("ratio = lake throughput / cp throughput (goal for the stored upload: >= 0.5); memory goal < 64 MiB")
    }
}
