import Foundation
import LakeCatalog
import LakeCore
import LakeFS
import LakeModel
import LakeSystem
import Logging

/// What a walk of `objects/` costs per object, through the filesystem core without FUSE, on a
/// catalog of `objects` settled objects of one shape: the daemon's share of `find` (and of
/// `find -size`, which also sizes each `object.json`) once the objects outnumber what the mount
/// keeps in memory. Two walks in a row: the second shows what the first one's work left.
/// Memory: the process's resident set after each walk.
struct ViewBenchmark {
    enum Shape: String, CaseIterable {
        /// A small uploaded file: a blob, no fields (what a dataset of samples holds).
        case file
        /// A processed VTK file: five fields with their 128-bin histograms, params, tags.
        case vtk
    }

    var objects: Int
    var shape: Shape
    var work: String
    var lake: String

    func run() throws {
        let root = work + "/store-\(shape.rawValue)-\(objects)"
        var logger = Logger(label: "lake-bench")
        logger.logLevel = .warning
        if (try? Store(opening: root, logger: logger).catalog.statusCounts()[.ready]) != objects {
            try? FileManager.default.removeItem(atPath: root)
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            try Bench.run([lake, "init", "--store", root])
            let store = try Store(opening: root, logger: logger)
            guard let catalog = store.catalog as? SQLiteCatalog else { throw BenchError("the store's catalog is not SQLite") }
            var random = SplitMix(seed: 7)
            var made = 0
            while made < objects {
                let count = min(20_000, objects - made)
                let now = Timestamp.now
                try catalog.insertSettledObjects((0..<count).map { i in object(index: made + i, at: now, random: &random) })
                made += count
            }
        }
        let store = try Store(opening: root, logger: logger)
        let ids = try store.objectSummaries().map(\.id)
        print("views: \(ids.count) \(shape.rawValue) objects; resident \(Self.residentMiB()) MiB before the walks")

        // Where an uncached view's time goes, on a sample.
        let sample = stride(from: 0, to: ids.count, by: max(1, ids.count / 2000)).map { ids[$0] }
        let seqs = try sample.map { try store.seq(of: $0)! }
        var t0 = Bench.monotonic()
        _ = try seqs.map { try store.objectOutline(seq: $0)! }
        let outlineMicros = (Bench.monotonic() - t0) * 1e6 / Double(seqs.count)
        t0 = Bench.monotonic()
        let fetched = try seqs.map { try store.object(seq: $0)! }
        let fetchMicros = (Bench.monotonic() - t0) * 1e6 / Double(seqs.count)
        t0 = Bench.monotonic()
        let jsonBytes = fetched.reduce(0) { $0 + LakeJSON.data($1, pretty: true).count }
        let encodeMicros = (Bench.monotonic() - t0) * 1e6 / Double(seqs.count)
        // What the mount does instead (since session 19): the object with its provisions as
        // stored, and its object.json laid out from them.
        t0 = Bench.monotonic()
        let stored = try sample.map { try store.storedObject($0)! }
        let storedMicros = (Bench.monotonic() - t0) * 1e6 / Double(seqs.count)
        t0 = Bench.monotonic()
        let laidOut = stored.reduce(0) { $0 + ($1.prettyJSON?.count ?? 0) }
        let layoutMicros = (Bench.monotonic() - t0) * 1e6 / Double(seqs.count)
        print("  from the catalog: an outline \(Bench.format(outlineMicros, 1)) µs, the whole object \(Bench.format(fetchMicros, 1)) µs; "
            + "its object.json (\(jsonBytes / fetched.count) bytes) encoded: \(Bench.format(encodeMicros, 1)) µs")
        print("  with provisions as stored: the object \(Bench.format(storedMicros, 1)) µs; its object.json "
            + "(\(laidOut / stored.count) bytes) made: \(Bench.format(layoutMicros, 1)) µs")

        // As the kernel asks: `find -name` looks each folder up and lists it (a listing describes
        // every entry it can, so no lookups follow); `find -size` or `ls -l` also looks up what
        // a listing left undescribed. Each walk on a fresh filesystem, then once more on it.
        for (label, stat) in [("find -name", false), ("find -size", true)] {
            let fs = LakeFileSystem(store: store, logger: logger)
            for pass in 1...2 {
                t0 = Bench.monotonic()
                var entries = 0
                for id in ids {
                    let folder = try fs.lookup(parent: NodeID.objects, name: FileName(id.rawValue))
                    for entry in try fs.list(folder.attributes.node) {
                        if stat && !entry.isDescribed { _ = try fs.lookup(parent: folder.attributes.node, name: entry.name) }
                        entries += 1
                    }
                }
                let seconds = Bench.monotonic() - t0
                print("  \(label) walk \(pass): \(Bench.format(seconds * 1e6 / Double(ids.count), 1)) µs per object (\(entries) entries, "
                    + "\(Bench.format(seconds, 2)) s); resident \(Self.residentMiB()) MiB")
            }
        }
    }

    func object(index: Int, at now: Timestamp, random: inout SplitMix) -> LakeObject {
        var object = FilterBenchmark.object(index: index, at: now, random: &random)
        let sha = (0..<4).map { _ in String(format: "%016llx", random.next()) }.joined()
        let size = Int64(4096 + random.next() % 65536)
        object.file.blob = BlobInfo(id: sha, size: size, uri: "", contentHash: ContentHash(sha256: sha, md5: String(sha.prefix(32))))
        switch shape {
        case .file:
            object.name = "sample-\(index).bin"
            object.file.name = object.name
            object.format = .unknown
            object.provisions = []
            object.params = [:]
        case .vtk:
            object.provisions = object.provisions.map { provision in
                guard case .field(var field) = provision else { return provision }
                let hist = (0..<128).map { _ in Int64(random.next() % 10_000) }
                field.magnitudeStats.hist128 = hist
                field.componentStats = field.componentStats.map { var c = $0; c.stats.hist128 = hist; return c }
                return .field(field)
            }
        }
        return object
    }

    static func residentMiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ").dropFirst().first ?? "") else { return -1 }
        return kib / 1024
    }
}
