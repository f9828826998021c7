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

    /// The blobs' files, found again at each use (a node's cache may fetch them meanwhile).
    struct Blobs {
        let lake: Lake
        let shas: [String]
        subscript(_ range: ClosedRange<Int>) -> [String?] { range.map { lake.blobFile(shas[$0]) } }
        func forEach(_ body: (String) -> Void) { shas.compactMap(lake.blobFile).forEach(body) }
    }

    struct Lake {
        let mounted: MountedLake
        let sources: [String]
        let ids: [String]
        let caseID: String
        let dataset: String

        /// The file holding a source's blob on this machine: the store's own `blobs/`, or (a
        /// store on a bucket: the cluster pass) the node's cache of fetched blobs, wherever it is.
        func blobFile(_ sha: String) -> String? {
            let local = BlobFiles.path(store: mounted.store, id: sha)
            if FileManager.default.fileExists(atPath: local) { return local }
            let found = FileManager.default.enumerator(atPath: mounted.store)?.first { ($0 as? String)?.hasSuffix("/" + sha) == true } as? String
            return found.map { mounted.store + "/" + $0 }
        }

        func member(_ index: Int) -> String { String(format: "s%02d", index) }

        func read(_ relative: String, _ index: Int) throws -> Bool {
            try Shell.sha256(mounted.path(relative)) == Shell.sha256(sources[index])
        }
    }

    /// `size`: 64 KiB files are read in one READ; 600 KiB ones in several.
    func makeLake(size: Int = 64 << 10) throws -> Lake {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let sources = (0..<Self.files).map { lake.directory.writeRandom(String(format: "s%02d.bin", $0), size: size, seed: UInt64(7 * $0 + 1)) }
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

    func isResident(_ path: String?) -> Bool {
        guard let path else { return false }
        let pages = residentPages(path)
        return pages.pages > 0 && pages.resident == pages.pages
    }

    @Test(arguments: [[String](), ["ro"]])
    func filesReadInOrderFindTheNextOnesInMemory(options: [String]) throws {
        let lake = try makeLake()
        let shas = try lake.sources.map(Shell.sha256)
        let blobs = Blobs(lake: lake, shas: shas)
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
        #expect(outOfOrder.after("read ahead across files: ") == "0 blobs, 0 files served as read ahead and checked, 0 checked but not kept",
                "\(outOfOrder.after("read ahead across files: "))")

        // In order through objects/ (as listed): the next files' blobs come into memory while the
        // reader is still on the first ones.
        try lake.mounted.mount(options: options)
        blobs.forEach(evict)
        #expect(!blobs[3...8].contains(where: isResident), "the blobs' pages were dropped")
        for index in 0...2 { #expect(try lake.read("objects/\(lake.ids[index])/file", index)) }
        #expect(lake.mounted.eventually(30) { blobs[3...6].allSatisfy(isResident) },
                "\(blobs[3...6].map { $0.map(residentPages)?.resident ?? -1 }) pages in memory")

        // In order through a dataset's cases (each member shows its file twice: `file` and its
        // own name; the reader takes `file`), from the middle.
        blobs.forEach(evict)
        for index in 10...12 { #expect(try lake.read(casePath + lake.member(index) + "/file", index)) }
        #expect(lake.mounted.eventually(30) { blobs[13...16].allSatisfy(isResident) },
                "\(blobs[13...16].map { $0.map(residentPages)?.resident ?? -1 }) pages in memory")
        for index in 13..<Self.files { #expect(try lake.read(casePath + lake.member(index) + "/file", index)) }

        // In the order of the dataset's manifest.jsonl (here the reverse of the listings'), files
        // not read through this tree yet (a read-only mount keeps the pages of those it read).
        blobs.forEach(evict)
        let manifest = try String(contentsOfFile: lake.mounted.path("datasets/\(lake.dataset)/manifest.jsonl"), encoding: .utf8)
        #expect(manifest.range(of: "\"s29\"")!.lowerBound < manifest.range(of: "\"s28\"")!.lowerBound)
        for index in [9, 8, 7] { #expect(try lake.read(casePath + lake.member(index) + "/file", index)) }
        #expect(lake.mounted.eventually(30) { blobs[3...6].allSatisfy(isResident) },
                "\(blobs[3...6].map { $0.map(residentPages)?.resident ?? -1 }) pages in memory")
        let inOrder = try lake.mounted.unmountAndReadLog()
        let words = inOrder.after("read ahead across files: ").split(separator: " ")
        let count = Int(words.first ?? "") ?? -1, served = words.count > 2 ? Int(words[2]) ?? -1 : -1
        #expect(count >= 12, "\(count) blobs read ahead")
        // A read-only mount serves reads itself: small files read ahead are checked there, and
        // their READs answered with those bytes. A read-write mount's kernel reads them itself.
        if options == ["ro"] {
            #expect(served >= 8, "\(served) files served as read ahead")
        } else {
            #expect(served == 0, "\(served) files served as read ahead")
        }
    }
}

extension ReadAheadMountTests {
    /// A damaged byte in a blob a read-only mount reads ahead: the read-ahead's check finds it,
    /// the file fails with EIO when its reader gets there (never the damaged bytes), the damage
    /// is recorded as found by the read-ahead, and the files around it read right.
    @Test(.disabled(if: ClusterStores.isOn, "damages the embedded store's blobs/ folder"))
    func aDamagedBlobFoundByTheReadAheadIsNotServed() throws {
        let lake = try makeLake()
        let damagedSha = try Shell.sha256(lake.sources[5])
        try flipByte(BlobFiles.path(store: lake.mounted.store, id: damagedSha), at: 100)
        // No scrubber, which would find it first on a fresh daemon.
        try lake.mounted.configure(["scrub_bytes_per_second": 0])
        try lake.mounted.mount(options: ["ro"])
        for index in 0...3 { #expect(try lake.read("objects/\(lake.ids[index])/file", index)) }
        #expect(lake.mounted.eventually(30) {
            let shown = (try? lake.mounted.lake.run(["object", "show", lake.ids[5], "--json"]).stdout) ?? ""
            return shown.contains("\"found_by\" : \"read-ahead\"")
        }, "the read-ahead recorded the damage")
        let read = try Shell.run("cat '\(lake.mounted.path("objects/\(lake.ids[5])/file"))' > /dev/null 2>&1; echo $?")
        #expect(read.output != "0\n", "a damaged blob was served")
        for index in [4, 6, 7] { #expect(try lake.read("objects/\(lake.ids[index])/file", index)) }
    }
}

extension ReadAheadMountTests {
    /// A mounted frozen dataset (`lake mount --dataset`) read in its listings' order: the next
    /// members' blobs come into memory ahead of the reader, and the reads of small files are
    /// answered with the bytes the read-ahead checked (larger ones, read in several READs, are
    /// re-hashed as they are read).
    @Test(arguments: [64 << 10, 600 << 10])
    func aDatasetMountReadInOrderFindsTheNextFilesInMemory(size: Int) throws {
        let lake = try makeLake(size: size)
        let blobs = Blobs(lake: lake, shas: try lake.sources.map(Shell.sha256))
        let result = try lake.mounted.lake.run(["mount", lake.mounted.mountpoint, "--dataset", lake.dataset])
        #expect(result.succeeded, "\(result.stderr)")
        blobs.forEach(evict)
        let folder = "cases/\(lake.caseID)/"
        for index in 0...2 { #expect(try lake.read(folder + lake.member(index) + "/file", index)) }
        #expect(lake.mounted.eventually(30) { blobs[3...6].allSatisfy(isResident) },
                "\(blobs[3...6].map { $0.map(residentPages)?.resident ?? -1 }) pages in memory")
        for index in 3..<Self.files { #expect(try lake.read(folder + lake.member(index) + "/file", index)) }
        let log = try lake.mounted.unmountAndReadLog()
        let words = log.after("read ahead across files: ").split(separator: " ")
        let count = Int(words.first ?? "") ?? -1, served = words.count > 2 ? Int(words[2]) ?? -1 : -1
        let small = Int64(size) <= 128 << 10
        #expect(count >= Self.files - 3 && (small ? served >= 8 : served == 0), "\(count) blobs read ahead, \(served) files served so")
    }
}

extension ReadAheadMountTests {
    /// Another account reading in order through a read-only mount gets the next files read
    /// ahead and checked — including two it may not read (mode 0600, root's): those bytes are
    /// held by the daemon, and still its open is refused by the kernel (the modes are checked
    /// before any READ reaches the daemon); the files around them it reads right, and their
    /// owner reads them right too.
    @Test func anotherAccountReadingAheadGetsNothingItMayNotRead() throws {
        guard getuid() == 0 else { return }
        let bob = try Account.make("lakeprobe2")
        let lake = try makeLake()
        _ = try Shell.run("chmod 755 '\(lake.mounted.lake.directory.path)'")
        for index in [5, 6] { #expect(try lake.mounted.lake.run(["object", "chmod", "600", lake.ids[index]]).succeeded) }
        let blobs = Blobs(lake: lake, shas: try lake.sources.map(Shell.sha256))
        try lake.mounted.mount(options: ["ro"])
        blobs.forEach(evict)
        let sums = try lake.sources.map(Shell.sha256)
        func bobReads(_ index: Int) throws -> Shell.Result {
            try bob.run("sha256sum < '\(lake.mounted.path("objects/\(lake.ids[index])/file"))'")
        }
        for index in 0...2 { #expect(try bobReads(index).output.hasPrefix(sums[index])) }
        #expect(lake.mounted.eventually(30) { blobs[5...6].allSatisfy(isResident) },
                "\(blobs[5...6].map { $0.map(residentPages)?.resident ?? -1 }) pages in memory: read ahead")
        for index in 3...4 { #expect(try bobReads(index).output.hasPrefix(sums[index])) }
        for index in [5, 6] {
            let refused = try bobReads(index)
            #expect(refused.status != 0 && refused.output.contains("Permission denied"), "\(refused.output)")
        }
        for index in 7...9 { #expect(try bobReads(index).output.hasPrefix(sums[index])) }
        for index in [5, 6] { #expect(try lake.read("objects/\(lake.ids[index])/file", index)) }
    }
}
