import Foundation
import Glibc
import LakeTestSupport
import Testing

/// Reading ahead across files through a real mount: a reader going through a tree's files in
/// order finds the next files' blobs already in the page cache; one going out of order starts
/// nothing. The blobs' pages are dropped first (`POSIX_FADV_DONTNEED`), and whether a blob is in
/// memory is asked of the kernel (`mincore`), so nothing here depends on timing but the wait for
/// the read-ahead threads, which polls.
@Suite struct ReadAheadMountTests {
    static let files = 30

    struct Lake {
        let mounted: MountedLake
        let sources: [String]
        let ids: [String]
        let caseID: String
        let dataset: String

        func blob(_ index: Int) throws -> String {
            let sha = try Shell.sha256(sources[index])
            return mounted.store + "/blobs/" + sha.prefix(2) + "/" + sha
        }

        func member(_ index: Int) -> String { String(format: "s%02d", index) }

        func read(_ relative: String, _ index: Int) throws -> Bool {
            try Shell.sha256(mounted.path(relative)) == Shell.sha256(sources[index])
        }
    }

    func makeLake() throws -> Lake {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let sources = (0..<Self.files).map { lake.directory.writeRandom(String(format: "s%02d.bin", $0), size: 64 << 10, seed: UInt64(7 * $0 + 1)) }
        let result = try lake.json(try lake.run(["upload"] + sources + ["--json"]))
        let stored = try #require(result["succeeded"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: stored.map { ($0["name"] as! String, $0["id"] as! String) })
        let ids = try (0..<Self.files).map { try #require(byName[String(format: "s%02d.bin", $0)]) }
        // Members named in the reverse of their labels' order: the dataset's manifest.jsonl names
        // them s29 … s00, its listings show s00 … s29.
        let created = try lake.json(try lake.run(["case", "create", "--name", "samples", "--json"]
            + ids.enumerated().reversed().flatMap { ["--object", "\($0.element):" + String(format: "s%02d", $0.offset)] }))
        let caseID = try #require(created["id"] as? String)
        let dataset = try #require(try lake.json(try lake.run(["dataset", "create", "--name", "samples", "--case", caseID, "--json"]))["id"] as? String)
        #expect(try lake.run(["dataset", "freeze", dataset]).succeeded)
        return Lake(mounted: mounted, sources: sources, ids: ids, caseID: caseID, dataset: dataset)
    }

    /// Drops a file's pages from the page cache (they are clean: the upload synced them).
    func evict(_ path: String) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return }
        _ = fdatasync(fd)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED)
        close(fd)
    }

    /// How many of a file's pages are in the page cache, and how many it has.
    func residentPages(_ path: String) -> (resident: Int, pages: Int) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return (0, -1) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else { return (0, 0) }
        let size = Int(info.st_size)
        guard let map = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), map != MAP_FAILED else { return (0, -1) }
        defer { munmap(map, size) }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: (size + pageSize - 1) / pageSize)
        guard mincore(map, size, &vector) == 0 else { return (0, -1) }
        return (vector.filter { $0 & 1 != 0 }.count, vector.count)
    }

    func isResident(_ path: String) -> Bool {
        let pages = residentPages(path)
        return pages.pages > 0 && pages.resident == pages.pages
    }

    @Test(arguments: [[String](), ["ro"]])
    func filesReadInOrderFindTheNextOnesInMemory(options: [String]) throws {
        let lake = try makeLake()
        let blobs = try (0..<Self.files).map(lake.blob)
        let casePath = "datasets/\(lake.dataset)/cases/\(lake.caseID)/"

        // Out of order (far jumps through a dataset's files and objects/'): no blob is read
        // ahead, and each file still reads right.
        try lake.mounted.mount(options: options)
        blobs.forEach(evict)
        for index in [25, 2, 14] {
            #expect(try lake.read(casePath + lake.member(index) + "/file", index))
            #expect(try lake.read("objects/\(lake.ids[index])/file", index))
        }
        let outOfOrder = try lake.mounted.unmountAndReadLog()
        #expect(outOfOrder.after("read ahead across files: ") == "0 blobs", "\(outOfOrder.after("read ahead across files: "))")

        // In order through objects/ (as listed): the next files' blobs come into memory while the
        // reader is still on the first ones.
        try lake.mounted.mount(options: options)
        blobs.forEach(evict)
        #expect(!blobs[3...8].contains(where: isResident), "the blobs' pages were dropped")
        for index in 0...2 { #expect(try lake.read("objects/\(lake.ids[index])/file", index)) }
        #expect(lake.mounted.eventually(30) { blobs[3...6].allSatisfy(isResident) },
                "\(blobs[3...6].map { residentPages($0).resident }) pages in memory")

        // In order through a dataset's cases (each member shows its file twice: `file` and its
        // own name; the reader takes `file`), from the middle.
        blobs.forEach(evict)
        for index in 10...12 { #expect(try lake.read(casePath + lake.member(index) + "/file", index)) }
        #expect(lake.mounted.eventually(30) { blobs[13...16].allSatisfy(isResident) },
                "\(blobs[13...16].map { residentPages($0).resident }) pages in memory")

        // In the order of the dataset's manifest.jsonl (here the reverse of the listings').
        blobs.forEach(evict)
        let manifest = try String(contentsOfFile: lake.mounted.path("datasets/\(lake.dataset)/manifest.jsonl"), encoding: .utf8)
        #expect(manifest.range(of: "\"s29\"")!.lowerBound < manifest.range(of: "\"s28\"")!.lowerBound)
        for index in [22, 21, 20] { #expect(try lake.read(casePath + lake.member(index) + "/file", index)) }
        #expect(lake.mounted.eventually(30) { blobs[16...19].allSatisfy(isResident) },
                "\(blobs[16...19].map { residentPages($0).resident }) pages in memory")
        let inOrder = try lake.mounted.unmountAndReadLog()
        let count = Int(inOrder.after("read ahead across files: ").split(separator: " ").first ?? "") ?? -1
        #expect((12...Self.files).contains(count), "\(count) blobs read ahead")
    }
}
