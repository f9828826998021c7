import Foundation
import LakeSystem
import LakeTestSupport
import Testing

/// What goes into incoming/ comes back exactly or not at all, with kernel passthrough (the
/// default) and without: a failed write, a failed truncate, a killed writer or a full disk
/// never leaves a READY object, and `close()` reports the failure.
@Suite(.serialized) struct IngestIntegrityTests {
    static let modes: [[String]] = [[], ["no_passthrough"]]

    /// Objects the catalog holds, by name: (id, status, size).
    func objects(_ mounted: MountedLake, store: String? = nil) throws -> [(name: String, id: String, status: String, size: Int?)] {
        var arguments = ["object", "ls", "--json", "--limit", "1000"]
        if let store { arguments += ["--store", store] }
        let result = try mounted.lake.run(arguments, store: store == nil)
        let data = Data(result.stdout.utf8)
        let list = (try JSONSerialization.jsonObject(with: data) as? [String: Any])?["objects"] as? [[String: Any]] ?? []
        return list.map { object in
            let file = object["file"] as? [String: Any]
            let blob = file?["blob"] as? [String: Any]
            return (object["name"] as? String ?? "", object["id"] as? String ?? "", object["status"] as? String ?? "",
                    blob?["size"] as? Int)
        }
    }

    /// A store on an 24 MiB tmpfs, mounted; the tmpfs goes when the test ends.
    final class SmallStore {
        let mounted: MountedLake
        let disk: String
        var store: String { disk + "/store" }

        init(options: [String]) throws {
            mounted = try MountedLake(mount: false)
            disk = mounted.lake.directory.file("small")
            try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
            guard try Shell.run("mount -t tmpfs -o size=24m tmpfs '\(disk)'").status == 0 else {
                throw MountFailure(message: "cannot mount a tmpfs")
            }
            guard try mounted.lake.run(["init", "--store", store], store: false).succeeded else { throw MountFailure(message: "init") }
            let mount = try mounted.lake.run(["mount", mounted.mountpoint, "--store", store] + options.flatMap { ["-o", $0] }, store: false)
            guard mount.succeeded else { throw MountFailure(message: mount.stderr) }
        }

        deinit {
            _ = try? mounted.lake.run(["unmount", mounted.mountpoint], store: false)
            _ = try? Shell.run("fusermount3 -uz '\(mounted.mountpoint)' 2>/dev/null; umount -l '\(disk)'")
        }
    }

    @Test(arguments: modes)
    func aWriteThatRanOutOfSpaceFailsTheCloseEvenAfterSpaceIsFreed(options: [String]) throws {
        guard getuid() == 0 else { return }
        let small = try SmallStore(options: options)
        let filler = small.disk + "/filler"
        try Shell.run("head -c 6000000 /dev/zero > '\(filler)'")
        // Writes 1 MiB at a time until the store is full, frees the filler, then closes.
        let script = """
            import errno, os, sys
            fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
            written = 0
            try:
                while written < 100 * 1048576:
                    written += os.write(fd, os.urandom(1048576))
                print('no error'); sys.exit(3)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
            os.remove(sys.argv[2])
            try:
                os.close(fd)
                print('close returned 0 after', written, 'bytes')
            except OSError as e:
                print('close failed:', os.strerror(e.errno))
            """
        let target = small.mounted.path("incoming/big.bin")
        let run = try Shell.run("python3 -c \"\(script)\" '\(target)' '\(filler)' 2>&1")
        #expect(run.output.hasPrefix("close failed: No space left on device"), "\(run.output)")
        #expect(try objects(small.mounted, store: small.store).filter { $0.name == "big.bin" }.isEmpty)
        // Nothing is left in incoming/ that would answer EIO.
        #expect(!FileManager.default.fileExists(atPath: target))
        #expect(try small.mounted.lake.run(["verify", "--store", small.store], store: false).succeeded)
    }

    @Test(arguments: modes)
    func cpOntoAFullStoreFailsAndStoresNothing(options: [String]) throws {
        guard getuid() == 0 else { return }
        let small = try SmallStore(options: options)
        let big = small.mounted.lake.directory.writeRandom("big.bin", size: 40 << 20)
        let copy = try Shell.run("cp '\(big)' '\(small.mounted.path("incoming/"))' 2>&1")
        #expect(copy.status != 0 && copy.output.contains("No space left on device"), "\(copy.output)")
        #expect(try objects(small.mounted, store: small.store).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: small.mounted.path("incoming/big.bin")))
        // The space is back: a file that fits goes in.
        let fits = small.mounted.lake.directory.writeRandom("fits.bin", size: 4 << 20)
        #expect(try Shell.run("cp '\(fits)' '\(small.mounted.path("incoming/"))'").status == 0)
        let id = try small.mounted.xattr("incoming/fits.bin", "user.lake.id")
        #expect(try Shell.sha256(small.mounted.path("objects/\(id)/file")) == Shell.sha256(fits))
    }

    /// Many small files onto a store that fills up part way (each file's bytes go into the
    /// catalog before its blob file is synced): every file whose close succeeded is stored whole
    /// and is one object, every other left nothing, and once space is back (half the disk)
    /// `lake gc` and `lake verify` find the store sound.
    @Test func smallFilesOntoAStoreThatFillsUp() throws {
        guard getuid() == 0 else { return }
        let small = try SmallStore(options: [])
        let filler = small.disk + "/filler"
        try Shell.run("head -c 12000000 /dev/zero > '\(filler)'")
        let tree = small.mounted.lake.directory.file("many")
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        for i in 0..<150 { small.mounted.lake.directory.writeRandom("many/f\(i).bin", size: 100_000 + i, seed: UInt64(900 + i)) }
        let copy = try Shell.run("cp -r '\(tree)' '\(small.mounted.path("incoming/"))' 2>&1")
        #expect(copy.status != 0 && copy.output.contains("No space left on device"), "\(copy.output.prefix(300))")
        try FileManager.default.removeItem(atPath: filler)
        let copied = small.mounted.path("incoming/many")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: copied)) ?? []
        #expect(!names.isEmpty && names.count < 150, "\(names.count) files stored")
        for name in names {
            #expect(try Shell.sha256("\(copied)/\(name)") == Shell.sha256("\(tree)/\(name)"), "\(name)")
        }
        let stored = try objects(small.mounted, store: small.store)
        #expect(Set(stored.map(\.name)) == Set(names))
        #expect(try small.mounted.lake.run(["unmount", small.mounted.mountpoint], store: false).succeeded)
        #expect(try small.mounted.lake.run(["gc", "--store", small.store], store: false).succeeded)
        let verify = try small.mounted.lake.run(["verify", "--store", small.store], store: false)
        #expect(verify.succeeded, "\(verify.stdout)")
    }

    /// Sparse files work: `cp` of a file ending in a hole (written data, then ftruncate to
    /// extend) and `truncate -s` of a new file store exactly the bytes a reader of the source sees.
    @Test(arguments: modes)
    func sparseFilesAndTruncateStoreTheRightBytes(options: [String]) throws {
        let mounted = try MountedLake(options: options)
        let source = mounted.lake.directory.file("sparse.bin")
        try Shell.run("head -c 70000 /dev/urandom > '\(source)' && truncate -s 5000000 '\(source)'")
        let copy = try Shell.run("cp --sparse=always '\(source)' '\(mounted.path("incoming/"))' 2>&1")
        #expect(copy.status == 0, "\(copy.output)")
        let id = try mounted.xattr("incoming/sparse.bin", "user.lake.id")
        #expect(try Shell.sha256(mounted.path("objects/\(id)/file")) == Shell.sha256(source))

        #expect(try Shell.run("truncate -s 3000000 '\(mounted.path("incoming/zeros.bin"))'").status == 0)
        let zeros = try mounted.xattr("incoming/zeros.bin", "user.lake.id")
        try Shell.run("head -c 3000000 /dev/zero > '\(mounted.lake.directory.file("zeros.bin"))'")
        #expect(try Shell.sha256(mounted.path("objects/\(zeros)/file")) == Shell.sha256(mounted.lake.directory.file("zeros.bin")))

        // Shrinking while writing: the object holds what the file holds at its close.
        let script = "import os,sys\nfd=os.open(sys.argv[1],os.O_CREAT|os.O_WRONLY,0o644)\nos.write(fd,b'a'*100000)\nos.ftruncate(fd,10)\nos.write(fd,b'b')\nos.close(fd)"
        #expect(try Shell.run("python3 -c \"\(script)\" '\(mounted.path("incoming/shrunk.txt"))'").status == 0)
        let shrunk = try mounted.xattr("incoming/shrunk.txt", "user.lake.id")
        #expect(try String(contentsOfFile: mounted.path("objects/\(shrunk)/file"), encoding: .utf8) == "aaaaaaaaaa" + String(repeating: "\0", count: 99990) + "b"
                || FileManager.default.contents(atPath: mounted.path("objects/\(shrunk)/file"))?.count == 100001)

        // Truncating a stored receipt to another size is refused and changes nothing.
        let refused = try Shell.run("truncate -s 10 '\(mounted.path("incoming/sparse.bin"))' 2>&1")
        #expect(refused.status != 0, "\(refused.output)")
        #expect(try mounted.xattr("incoming/sparse.bin", "user.lake.id") == id)
        #expect(try Shell.sha256(mounted.path("incoming/sparse.bin")) == Shell.sha256(source))
    }

    /// A writer killed by a signal mid-copy leaves no object: its bytes are not the file.
    @Test(arguments: modes)
    func aWriterKilledMidCopyLeavesNoObject(options: [String]) throws {
        let mounted = try MountedLake(options: options)
        let target = mounted.path("incoming/killed.bin")
        let marker = mounted.lake.directory.file("written")
        // Writes 3 MiB, says so, then holds the file open until killed.
        let writer = try ChildProcess("/bin/sh", ["-c", "exec python3 -c \"import os,signal\nf=open('\(target)','wb')\nfor i in range(3): f.write(os.urandom(1048576)); f.flush()\nopen('\(marker)','w').close()\nsignal.pause()\""])
        #expect(mounted.eventually(60) { FileManager.default.fileExists(atPath: marker) })
        writer.send(SIGKILL)
        writer.wait()
        #expect(mounted.eventually(30) { !FileManager.default.fileExists(atPath: target) })
        #expect(try objects(mounted).isEmpty)
        #expect(try mounted.lake.run(["verify"]).succeeded)
    }

    /// A program that ends normally without closing its file (the kernel closes it) uploads it.
    @Test func aWriterThatExitsWithoutClosingUploads() throws {
        let mounted = try MountedLake()
        let target = mounted.path("incoming/exit.txt")
        #expect(try Shell.run("python3 -c \"import os; fd=os.open('\(target)', os.O_CREAT|os.O_WRONLY); os.write(fd, b'kept'); os._exit(0)\"").status == 0)
        let id = try mounted.xattr("incoming/exit.txt", "user.lake.id")
        #expect(try String(contentsOfFile: mounted.path("objects/\(id)/file"), encoding: .utf8) == "kept")
    }
}
