import Foundation
import LakeCatalog
import LakeCore
import LakeModel
import Logging

/// Issue 5's figures on a synthetic catalog: an object filter (provision magnitude range, param
/// range, tag) over `objects` objects, p50/p99; a dataset of `cases` cases created and frozen;
/// `ls` of its cases/ through the mount, warm.
struct FilterBenchmark {
    var objects: Int
    var cases: Int
    var queries: Int
    var work: String
    var lake: String
    /// A PostgreSQL database for the catalog (`postgres://…`, password from PGPASSWORD); nil: SQLite.
    var catalogURL: String? = nil

    func run() throws {
        let root = work + "/store"
        var logger = Logger(label: "lake-bench")
        logger.logLevel = .warning
        // A store left by an earlier run with the same objects is reused (building it takes minutes).
        var reused = false
        if let store = try? Store(opening: root, logger: logger), (try? store.catalog.statusCounts()[.ready]) == objects {
            reused = true
        } else {
            try? FileManager.default.removeItem(atPath: work)
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            try Bench.run([lake, "init", "--store", root] + (catalogURL.map { ["--catalog", $0] } ?? []))
        }
        let store = try Store(opening: root, logger: logger)
        guard let catalog = store.catalog as? SQLiteCatalog else { throw BenchError("the store's catalog is not Lake's SQL catalog") }

        // 1. The synthetic catalog: 5 field provisions, 3 params, 2 tags per object.
        var random = SplitMix(seed: 42)
        let start = Bench.monotonic()
        var ids: [LakeID] = reused ? try catalog.objectSummaries().map(\.id) : []
        ids.reserveCapacity(objects)
        let batch = 20_000
        var made = reused ? objects : 0
        while made < objects {
            let count = min(batch, objects - made)
            let now = Timestamp.now
            let chunk = (0..<count).map { i in Self.object(index: made + i, at: now, random: &random) }
            try catalog.insertSettledObjects(chunk)
            ids += chunk.map(\.id)
            made += count
        }
        if !reused { try catalog.analyze() }
        let loadSeconds = Bench.monotonic() - start
        print("catalog (\(catalogURL == nil ? "SQLite" : "PostgreSQL")): \(objects) objects (5 provisions, 3 params, 2 tags each) \(reused ? "reused, listed" : "made") in \(Bench.format(loadSeconds, 1)) s"
            + (catalogURL == nil ? "; catalog file \(Bench.format(Double(fileSize(root + "/catalog.sqlite")) / 1_048_576, 0)) MiB" : ""))

        // 2. Filters: random ranges so no two queries are alike; first page of 100, newest first.
        func timeQueries(_ label: String, _ make: (inout SplitMix) throws -> ObjectFilter) throws {
            FileHandle.standardError.write(Data("timing filter \(label)…\n".utf8))
            var times: [Double] = []
            var matched: [Int] = []
            for _ in 0..<queries {
                let filter = try make(&random)
                let t0 = Bench.monotonic()
                let page = try catalog.objects(matching: filter, limit: 100, after: nil)
                times.append(Bench.monotonic() - t0)
                matched.append(page.count)
            }
            times.sort()
            let p50 = times[times.count / 2] * 1000, p99 = times[min(times.count - 1, Int(Double(times.count) * 0.99))] * 1000
            print("filter \(label): p50 \(Bench.format(p50, 1)) ms, p99 \(Bench.format(p99, 1)) ms over \(queries) queries "
                + "(median page \(Int(Bench.median(matched.map(Double.init)))) of 100)")
        }
        try timeQueries("provision+param+tag") { random in
            var filter = ObjectFilter()
            var provision = ProvisionFilter()
            provision.quantityType = "PRESSURE"
            provision.magMax.lte = 5e4 + random.next01() * 5e4
            filter.provisions = [provision]
            filter.params = [ParamFilter(key: "mach", matcher: .number(RangeFilter(gte: 0.3 + random.next01())))]
            filter.tags = [["project": .string("p\(Int(random.next01() * 20))")]]
            return filter
        }
        try timeQueries("selective (about 1 in 10,000 match)") { random in
            var filter = ObjectFilter()
            var provision = ProvisionFilter()
            provision.quantityType = "TEMPERATURE"
            let low = 250 + random.next01() * 100
            provision.magMean.gte = low
            provision.magMean.lte = low + 1
            filter.provisions = [provision]
            filter.params = [ParamFilter(key: "aoa", matcher: .number(RangeFilter(gte: 14.5)))]
            filter.tags = [["campaign": .string("c\(Int(random.next01() * 7))")]]
            return filter
        }

        // 3. A dataset of `cases` cases (each one object), created and frozen.
        var caseIDs: [LakeID] = []
        let caseStart = Bench.monotonic()
        for index in 0..<cases {
            let now = Timestamp.now
            let item = LakeCase(id: LakeID.make(.case, at: now.milliseconds), name: "case \(index)", status: .unsettled,
                                members: [CaseMember(objectId: ids[index * max(1, objects / cases) % ids.count], label: "flow")],
                                params: [:], createdAt: now, createdBy: "bench")
            caseIDs.append(try catalog.createCase(item).id)
        }
        let caseSeconds = Bench.monotonic() - caseStart
        let t0 = Bench.monotonic()
        let now = Timestamp.now
        let dataset = try catalog.createDataset(LakeDataset(id: LakeID.make(.dataset, at: now.milliseconds), name: "bench", description: "",
                                                            status: .ready, caseIds: caseIDs, createdAt: now, createdBy: "bench"))
        let createSeconds = Bench.monotonic() - t0
        let frozen = try catalog.freezeDataset(dataset.id, augmentations: ["mach": ParameterDef(type: "scalar", defaultReference: [0.8])], at: .now)
        let totalSeconds = Bench.monotonic() - t0
        print("cases: \(cases) created one by one in \(Bench.format(caseSeconds, 1)) s (each its own durable transaction)")
        print("dataset of \(frozen.caseIds.count) cases: created in \(Bench.format(createSeconds, 2)) s, created + frozen in \(Bench.format(totalSeconds, 2)) s "
            + "(\(frozen.provisions.count) pooled provisions, schema \(frozen.paramsSchema.keys.sorted()))")

        // 4. ls of the frozen dataset's cases/ through the mount.
        let mountpoint = work + "/mnt"
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        try Bench.run([lake, "mount", "--store", root, mountpoint])
        defer { _ = try? Bench.run([lake, "unmount", mountpoint]) }
        let folder = "\(mountpoint)/datasets/\(frozen.id)/cases"
        let first = try Bench.run(["ls", folder]).seconds
        let warm = try (0..<5).map { _ in try Bench.run(["ls", folder]).seconds }
        let warmLong = try (0..<5).map { _ in try Bench.run(["ls", "-l", folder]).seconds }
        print("ls datasets/<id>/cases (\(frozen.caseIds.count) entries): first \(Bench.format(first, 2)) s (builds the dataset's view), "
            + "warm median \(Bench.format(Bench.median(warm), 3)) s, ls -l warm median \(Bench.format(Bench.median(warmLong), 3)) s")
    }

    func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    static let fields: [(String, ElementAssoc, String?, String?, ClosedRange<Double>)] = [
        ("p", .point, "PRESSURE", "Pa", 1e3...1e5), ("U", .point, "VELOCITY", "m/s", 0...300),
        ("T", .cell, "TEMPERATURE", "K", 200...400), ("k", .cell, nil, nil, 0...10), ("nut", .point, nil, nil, 0...1),
    ]

    static func object(index: Int, at now: Timestamp, random: inout SplitMix) -> LakeObject {
        let provisions = fields.map { label, assoc, quantity, units, range -> Provision in
            let a = range.lowerBound + random.next01() * (range.upperBound - range.lowerBound)
            let b = range.lowerBound + random.next01() * (range.upperBound - range.lowerBound)
            let (low, high) = (min(a, b), max(a, b))
            // Histograms are left out: filters never read them, and 1M × 5 × 128 counts would
            // only make the file bigger.
            let stats = FieldStats(count: 1000, nanCount: 0, min: low, max: high, mean: (low + high) / 2, stdev: (high - low) / 4, hist128: [])
            return .field(Field(label: label, elementAssoc: assoc, numComponents: 1, numTuples: 1000, dataType: "Float64", hasNan: false,
                                componentStats: [ComponentStats(name: "0", stats: stats)], magnitudeStats: stats,
                                quantityType: quantity, units: units))
        }
        let id = LakeID.make(.object, at: now.milliseconds)
        return LakeObject(id: id, name: "run-\(index).vtu", description: "", file: ObjectFile(name: "run-\(index).vtu", blob: nil),
                          format: .vtu, status: .ready,
                          params: ["mach": Param(value: .number(0.1 + random.next01() * 1.4)),
                                   "aoa": Param(value: .number(-5 + random.next01() * 20), units: "deg"),
                                   "solver": Param(value: .string(["rans", "les", "dns"][index % 3]))],
                          tags: ["project": .string("p\(index % 20)"), "campaign": .string("c\(index % 7)")],
                          provisions: provisions, createdAt: now, uploadedAt: now, processedAt: now, createdBy: "bench")
    }
}

/// A small deterministic generator, so every run builds the same catalog.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next01() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
