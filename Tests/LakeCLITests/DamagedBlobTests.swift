import Foundation
import LakeTestSupport
import Testing

/// A stored blob found damaged or missing is never served as good bytes: opens through the
/// mount fail with EIO, the object says so (`lake object show`, `user.lake.damage`), `lake
/// verify` lists it, and a restored blob that verifies intact is served again.
@Suite struct DamagedBlobTests {
    /// Uploads a file through the CLI and returns (id, blob path in the store, source path).
    func upload(_ mounted: MountedLake, size: Int = 3 << 20) throws -> (id: String, blob: String, source: String) {
        let source = mounted.lake.directory.writeRandom("data-\(size).bin", size: size, seed: UInt64(size))
        let result = try mounted.lake.run(["upload", source, "--json"])
        let object = (try mounted.lake.json(result)["succeeded"] as! [[String: Any]])[0]
        let sha = ((object["file"] as! [String: Any])["blob"] as! [String: Any])["id"] as! String
        let blob = BlobFiles.path(store: mounted.store, id: sha)
        #expect(FileManager.default.fileExists(atPath: blob), "blob layout changed? \(blob)")
        return (object["id"] as! String, blob, source)
    }

    func flipByte(_ path: String, at offset: UInt64 = 1_000_000) throws {
        try LakeTestSupport.flipByte(path, at: offset)
    }

    func damage(_ mounted: MountedLake, _ id: String) throws -> [String: Any]? {
        let object = try mounted.lake.json(try mounted.lake.run(["object", "show", id, "--json"]))
        return ((object["file"] as? [String: Any])?["blob"] as? [String: Any])?["damage"] as? [String: Any]
    }

    func catFails(_ path: String) throws -> Bool {
        let read = try Shell.run("cat '\(path)' > /dev/null 2>/tmp/lake-cat-err; echo $?; cat /tmp/lake-cat-err")
        return !read.output.hasPrefix("0\n") && read.output.contains("Input/output error")
    }

    @Test(arguments: [[], ["no_passthrough"]])
    func aFlippedByteFoundByVerifyIsNeverServedAgainUntilRestored(options: [String]) throws {
        let mounted = try MountedLake(options: options)
        let (id, blob, source) = try upload(mounted)
        let file = mounted.path("objects/\(id)/file")
        #expect(try Shell.sha256(file) == Shell.sha256(source))
        let pristine = mounted.lake.directory.file("pristine")
        try Shell.run("cp '\(blob)' '\(pristine)'")
        try flipByte(blob)
        let verify = try mounted.lake.run(["verify"])
        #expect(!verify.succeeded && verify.stdout.contains("CORRUPT") && verify.stdout.contains(id), "\(verify.stdout)")
        #expect(try damage(mounted, id)?["found_by"] as? String == "verify")
        // The mount learns of it through the change sequence: every open fails from then on.
        #expect(mounted.eventually(30) { (try? catFails(file)) == true })
        #expect(try catFails(mounted.path("objects/\(id)/data-\(3 << 20).bin")))
        #expect(try mounted.xattr("objects/\(id)/file", "user.lake.damage").contains("hashes to"))
        #expect(try mounted.lake.run(["object", "show", id]).stdout.contains("DAMAGED"))
        let get = try mounted.lake.run(["object", "get", id, "-o", mounted.lake.directory.file("out.bin")])
        #expect(!get.succeeded && get.stderr.contains("damaged"), "\(get.stderr)")
        // Restored from a copy, verified intact: served again.
        try Shell.run("chmod u+w '\(blob)'; cp '\(pristine)' '\(blob)'; chmod 444 '\(blob)'")
        #expect(try mounted.lake.run(["verify"]).succeeded)
        #expect(try damage(mounted, id) == nil)
        #expect(mounted.eventually(30) { (try? Shell.sha256(file)) == (try? Shell.sha256(source)) })
    }

    /// Restored as a new file under the blob's name (`mv`, `rsync` without `--inplace`) while the
    /// damaged file keeps another name (a hard-linked backup of the store: `cp -al`, rsnapshot):
    /// once verified intact, the mount serves the restored file — never the damaged one it had
    /// kept open from the read before the damage, whose link count no longer says it was replaced.
    @Test(arguments: [[], ["no_passthrough"], ["ro"]])
    func aBlobRestoredAsANewFileIsServedNotTheDamagedOneKeptOpen(options: [String]) throws {
        let mounted = try MountedLake(options: options)
        let (id, blob, source) = try upload(mounted)
        let file = mounted.path("objects/\(id)/file")
        #expect(try Shell.sha256(file) == Shell.sha256(source))
        let pristine = mounted.lake.directory.file("pristine")
        try Shell.run("cp '\(blob)' '\(pristine)' && chmod 444 '\(pristine)' && ln '\(blob)' '\(mounted.store)/backup-link'")
        try flipByte(blob)
        #expect(try !mounted.lake.run(["verify"]).succeeded)
        #expect(try damage(mounted, id) != nil)
        #expect(mounted.eventually(30) { (try? catFails(file)) == true })
        #expect(try Shell.run("mv -f '\(pristine)' '\(blob)'").status == 0)
        #expect(try mounted.lake.run(["verify"]).succeeded)
        #expect(try damage(mounted, id) == nil)
        #expect(mounted.eventually(30) { (try? Shell.sha256(file)) == (try? Shell.sha256(source)) },
                "the damaged file kept open was served after the restore")
    }

    @Test func theScrubberFindsAFlippedByteOnItsOwn() throws {
        let mounted = try MountedLake(mount: false)
        // Every blob is re-checked about a third of a second after its last check, at full speed.
        try mounted.configure(["scrub_interval_hours": 0.0001, "scrub_bytes_per_second": 1e9])
        try mounted.mount()
        let (id, blob, _) = try upload(mounted)
        try flipByte(blob)
        #expect(mounted.eventually(30) { (try? damage(mounted, id))?["found_by"] as? String == "scrub" })
        #expect(mounted.eventually(30) { (try? catFails(mounted.path("objects/\(id)/file"))) == true })
        let verify = try mounted.lake.run(["verify", "--json"])
        #expect(((try mounted.lake.json(verify))["corrupt"] as? [[String: Any]])?.first?["blob"] as? String == URL(fileURLWithPath: blob).lastPathComponent)
    }

    /// A blob whose file is gone or cut short is caught at the next open, without a re-hash:
    /// EIO instead of ENOENT on a file `ls` lists, and the object records it at once.
    @Test func aMissingOrTruncatedBlobIsCaughtAtOpen() throws {
        let mounted = try MountedLake()
        let (id, blob, _) = try upload(mounted)
        let (other, otherBlob, _) = try upload(mounted, size: 2 << 20)
        try Shell.run("rm -f '\(blob)'; chmod u+w '\(otherBlob)'; truncate -s 1000 '\(otherBlob)'")
        #expect(try catFails(mounted.path("objects/\(id)/file")))
        #expect(try catFails(mounted.path("objects/\(other)/file")))
        #expect(try damage(mounted, id)?["reason"] as? String == "the blob file is missing")
        #expect((try damage(mounted, other)?["reason"] as? String)?.contains("size is 1000 bytes") == true)
        #expect(try damage(mounted, id)?["found_by"] as? String == "open")
        let verify = try mounted.lake.run(["verify"])
        #expect(verify.stdout.contains("MISSING") && verify.stdout.contains("CORRUPT"), "\(verify.stdout)")
    }

    /// The same after the files were read (the daemon keeps a descriptor of each blob it opened,
    /// and the kernel its passthrough backing file): the next open looks at the kept file, finds
    /// it unlinked or of another size, and refuses it as an open of a never-read file would.
    @Test(arguments: [[], ["no_passthrough"]])
    func aBlobDamagedAfterItsFileWasReadIsCaughtAtTheNextOpen(options: [String]) throws {
        let mounted = try MountedLake(options: options)
        let (id, blob, source) = try upload(mounted)
        let (other, otherBlob, otherSource) = try upload(mounted, size: 2 << 20)
        for _ in 0..<2 {
            #expect(try Shell.sha256(mounted.path("objects/\(id)/file")) == Shell.sha256(source))
            #expect(try Shell.sha256(mounted.path("objects/\(other)/file")) == Shell.sha256(otherSource))
        }
        try Shell.run("rm -f '\(blob)'; chmod u+w '\(otherBlob)'; truncate -s 1000 '\(otherBlob)'")
        #expect(try catFails(mounted.path("objects/\(id)/file")))
        #expect(try catFails(mounted.path("objects/\(other)/file")))
        #expect(try damage(mounted, id)?["reason"] as? String == "the blob file is missing")
        #expect((try damage(mounted, other)?["reason"] as? String)?.contains("size is 1000 bytes") == true)
    }

    /// A receipt in incoming/ and a dataset's member are the same bytes: refused the same way.
    @Test func receiptsRefuseADamagedBlobToo() throws {
        let mounted = try MountedLake()
        let source = mounted.lake.directory.writeRandom("drop.bin", size: 1 << 20, seed: 99)
        #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/"))'").status == 0)
        let id = try mounted.xattr("incoming/drop.bin", "user.lake.id")
        let sha = try Shell.sha256(source)
        let blob = BlobFiles.path(store: mounted.store, id: sha)
        try flipByte(blob, at: 100)
        #expect(!(try mounted.lake.run(["verify"]).succeeded))
        #expect(mounted.eventually(30) { (try? catFails(mounted.path("incoming/drop.bin"))) == true })
        #expect(mounted.eventually(30) { (try? mounted.xattr("incoming/drop.bin", "user.lake.damage"))?.contains("hashes to") == true })
        #expect(try damage(mounted, id) != nil)
    }

    /// A reader the daemon serves in order from the start gets EIO instead of the end of damaged
    /// bytes, and the damage is recorded. Receipts are read that way (direct I/O: each read(2)
    /// is one request, in order); stored objects below.
    @Test(arguments: [[], ["no_passthrough"]])
    func aReadThroughTheDaemonFindsAFlippedByte(options: [String]) throws {
        let mounted = try MountedLake(options: options)
        let source = mounted.lake.directory.writeRandom("r.bin", size: 2 << 20, seed: 77)
        #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/"))'").status == 0)
        let receipt = try mounted.xattr("incoming/r.bin", "user.lake.id")
        let sha = try Shell.sha256(source)
        try flipByte(BlobFiles.path(store: mounted.store, id: sha), at: 2_000_000)
        #expect(try catFails(mounted.path("incoming/r.bin")))
        #expect(try damage(mounted, receipt)?["found_by"] as? String == "read")
        #expect(mounted.eventually(30) { (try? catFails(mounted.path("objects/\(receipt)/file"))) == true })
    }

    /// A stored file read from the start through a mount whose reads the daemon serves (`-o ro`,
    /// `no_passthrough`), with the kernel's readahead sending its READs two or more at once (they
    /// reach the daemon's threads in either order): the damaged byte is still found by the reader
    /// — `cat` fails with EIO, the damage is recorded as found by a read — not left to the
    /// scrubber (off here) or `lake verify`. Each file is the first read after mounting, so the
    /// read-ahead across files has not checked it.
    @Test(arguments: [["ro"], ["no_passthrough"]], [600 << 10, 3 << 20, 9 << 20])
    func aStoredFileReadInOrderThroughTheDaemonFindsAFlippedByte(options: [String], size: Int) throws {
        let mounted = try MountedLake(mount: false)
        try mounted.configure(["scrub_bytes_per_second": 0])
        let (id, blob, _) = try upload(mounted, size: size)
        try flipByte(blob, at: UInt64(size - 1000))
        try mounted.mount(options: options)
        #expect(try catFails(mounted.path("objects/\(id)/file")), "a damaged blob was served")
        #expect(try damage(mounted, id)?["found_by"] as? String == "read")
    }

    /// The same through `lake mount --dataset`: a member's file read from the start.
    @Test(arguments: [600 << 10, 3 << 20])
    func aMemberReadInOrderThroughADatasetMountFindsAFlippedByte(size: Int) throws {
        let mounted = try MountedLake(mount: false)
        try mounted.configure(["scrub_bytes_per_second": 0])
        let (id, blob, _) = try upload(mounted, size: size)
        let lake = mounted.lake
        let caseID = try #require(try lake.json(try lake.run(["case", "create", "--name", "c", "--object", "\(id):flow", "--json"]))["id"] as? String)
        let dataset = try #require(try lake.json(try lake.run(["dataset", "create", "--name", "d", "--case", caseID, "--json"]))["id"] as? String)
        #expect(try lake.run(["dataset", "freeze", dataset]).succeeded)
        try flipByte(blob, at: UInt64(size - 1000))
        let result = try lake.run(["mount", mounted.mountpoint, "--dataset", dataset])
        #expect(result.succeeded, "\(result.stderr)")
        #expect(try catFails(mounted.path("cases/\(caseID)/flow/file")), "a damaged blob was served")
        #expect(try damage(mounted, id)?["found_by"] as? String == "read")
    }

    /// Intact bytes are served whole whether read in order, from the middle or both.
    @Test func intactReceiptsReadInAnyOrderAreServedWhole() throws {
        let mounted = try MountedLake()
        let source = mounted.lake.directory.writeRandom("ok.bin", size: 5 << 20, seed: 78)
        #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/"))'").status == 0)
        let receipt = mounted.path("incoming/ok.bin")
        #expect(try Shell.sha256(receipt) == Shell.sha256(source))
        let middle = try Shell.run("dd if='\(receipt)' bs=1000 skip=3 count=2000 status=none | sha256sum").output.prefix(64)
        let expected = try Shell.run("dd if='\(source)' bs=1000 skip=3 count=2000 status=none | sha256sum").output.prefix(64)
        #expect(middle == expected)
        #expect(try damage(mounted, try mounted.xattr("incoming/ok.bin", "user.lake.id")) == nil)
    }
}
