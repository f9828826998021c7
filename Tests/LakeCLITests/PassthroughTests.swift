import Foundation
import LakeTestSupport
import Testing

/// Kernel passthrough: the kernel reads stored files from their blobs by itself; the daemon sees
/// opens and closes. Uploads are written through the daemon either way (it must see every failed
/// write). The same work with `-o no_passthrough` goes through the daemon, and the log says which
/// happened.
@Suite struct PassthroughTests {
    /// Root on a kernel built with FUSE passthrough (the kernel's own config says so).
    static let kernelOffersPassthrough: Bool = {
        guard geteuid() == 0 else { return false }
        let check = "zcat /proc/config.gz 2>/dev/null | grep -q '^CONFIG_FUSE_PASSTHROUGH=y'"
            + " || grep -q '^CONFIG_FUSE_PASSTHROUGH=y' /boot/config-$(uname -r) 2>/dev/null"
        return (try? Shell.run(check).status) == 0
    }()

    /// Uploads two files, reads them back by SHA-256 through objects/ with several handles of
    /// one inode open at once (one backing file per inode) and through mmap, and watches an
    /// upload's size grow while it is written.
    func exercise(_ mounted: MountedLake) throws -> (first: String, second: String) {
        let source = mounted.lake.directory.file("data.bin")
        try Shell.run("head -c 6000000 /dev/urandom > '\(source)'")
        #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/data.bin"))'").status == 0)
        let first = try mounted.xattr("incoming/data.bin", "user.lake.id")
        let stored = mounted.path("objects/\(first)/data.bin")
        #expect(try Shell.sha256(stored) == Shell.sha256(source))

        let script = """
            import hashlib, mmap, os, sys
            stored, growing = sys.argv[1], sys.argv[2]
            expected = hashlib.sha256(open(stored, 'rb').read()).hexdigest()
            a, b = open(stored, 'rb'), open(stored, 'rb')
            head = a.read(1000)
            a.close()
            c = open(stored, 'rb')
            assert hashlib.sha256(b.read()).hexdigest() == expected, 'second handle'
            assert hashlib.sha256(c.read()).hexdigest() == expected, 'third handle'
            with open(stored, 'rb') as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
                assert hashlib.sha256(m).hexdigest() == expected, 'mmap'
                assert m[:1000] == head
            b.close(); c.close()
            fd = os.open(growing, os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b'x' * 3000000)
            size = os.stat(growing).st_size
            os.write(fd, b'y' * 1000)
            os.close(fd)
            print(size)
            """
        let run = try Shell.run("python3 -c \"\(script)\" '\(stored)' '\(mounted.path("incoming/growing.txt"))' 2>&1")
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.trimmingCharacters(in: .whitespacesAndNewlines) == "3000000", "an upload's size while it is written")
        let second = try mounted.xattr("incoming/growing.txt", "user.lake.id")
        #expect(try Shell.run("stat -c %s '\(mounted.path("objects/\(second)/growing.txt"))'").output == "3001000\n")
        return (first, second)
    }

    /// "N opens; the daemon answered M reads of stored files"
    func served(_ log: DaemonLog) -> (opens: Int, reads: Int)? {
        let line = log.after("FUSE passthrough served: ")
        guard let match = line.firstMatch(of: /^(\d+) opens; the daemon answered (\d+) reads of stored files$/) else { return nil }
        return (Int(match.1)!, Int(match.2)!)
    }

    @Test(.enabled(if: kernelOffersPassthrough, "root on a kernel with FUSE passthrough"))
    func theKernelReadsStoredFilesItself() throws {
        let mounted = try MountedLake()
        _ = try exercise(mounted)
        let log = try mounted.unmountAndReadLog()
        #expect(log.after("FUSE passthrough: ") == "on (the kernel reads stored files from their blobs)")
        let served = served(log)
        #expect(served != nil, "\(log.after("FUSE passthrough served: "))")
        if let served {
            #expect(served.opens >= 6, "sha256sum twice, 3 handles, mmap")
            #expect(served.reads == 0, "the daemon read stored files itself")
        }
    }

    /// Three random files copied in and processed: their paths under objects/ and their SHA-256.
    /// Processing (which waits for uploads to pause) changes each object once more, and the
    /// change makes the kernel drop its entry, and so forget the inode: it is waited for here.
    func storeThreeFiles(_ mounted: MountedLake, named prefix: String, size: Int, seed: UInt64) throws -> [(path: String, sha: String)] {
        var stored: [(path: String, sha: String)] = []
        for i in 0..<3 {
            let source = mounted.lake.directory.writeRandom("\(prefix)\(i).bin", size: size + i, seed: seed + UInt64(i))
            #expect(try Shell.run("cp '\(source)' '\(mounted.path("incoming/\(prefix)\(i).bin"))'").status == 0)
            stored.append((mounted.path("objects/\(try mounted.xattr("incoming/\(prefix)\(i).bin", "user.lake.id"))/file"), try Shell.sha256(source)))
        }
        for file in stored {
            #expect(mounted.eventually(60) { (try? mounted.xattr(String(file.path.dropFirst(mounted.path("").count)), "user.lake.status")) == "READY" })
        }
        return stored
    }

    /// Reading many small files opens each again and again: an inode's backing file is kept
    /// registered between opens, and registered anew once the kernel has forgotten the inode
    /// (`drop_caches`); every read gives the file's bytes.
    @Test(.enabled(if: kernelOffersPassthrough, "root on a kernel with FUSE passthrough"))
    func anInodeKeepsItsBackingFileBetweenOpens() throws {
        let mounted = try MountedLake()
        let stored = try storeThreeFiles(mounted, named: "s", size: 5_000, seed: 70)
        for _ in 0..<4 {
            for file in stored { #expect(try Shell.sha256(file.path) == file.sha) }
        }
        #expect(try Shell.run("sync; echo 2 > /proc/sys/vm/drop_caches").status == 0)
        for file in stored { #expect(try Shell.sha256(file.path) == file.sha) }
        let log = try mounted.unmountAndReadLog()
        let registered = Int(log.after("FUSE passthrough backing files registered: ")) ?? -1
        #expect(served(log)?.opens == 15)
        #expect(registered >= 3 && registered <= 6, "\(registered) registrations for 15 opens of 3 inodes")
        #expect(served(log)?.reads == 0)
    }

    /// Past the backings it keeps unused, the daemon gives back the one closed longest ago while
    /// the kernel still knows the inode, and registers it anew at its next open: here one kept
    /// (`-o passthrough_kept=1`) and three files read in turn, so every open after the first
    /// round finds its backing given back. Every read gives the file's bytes, and the daemon's
    /// bookkeeping of kept backings (which grew without end and scanned itself at every close,
    /// until an eviction order of its own) registers once per open.
    @Test(.enabled(if: kernelOffersPassthrough, "root on a kernel with FUSE passthrough"))
    func backingsGivenBackPastTheLimitAreRegisteredAgain() throws {
        let mounted = try MountedLake(options: ["passthrough_kept=1"])
        let stored = try storeThreeFiles(mounted, named: "k", size: 70_000, seed: 90)
        for _ in 0..<4 {
            for file in stored { #expect(try Shell.sha256(file.path) == file.sha) }
        }
        let log = try mounted.unmountAndReadLog()
        let registered = Int(log.after("FUSE passthrough backing files registered: ")) ?? -1
        #expect(served(log)?.opens == 12)
        #expect(registered >= 10 && registered <= 12, "\(registered) registrations for 12 opens of 3 inodes, one kept unused")
        #expect(served(log)?.reads == 0)
    }

    @Test func aKeptCountThatIsNotANumberIsRefused() throws {
        let lake = LakeBinary()
        #expect(try lake.run(["init"]).succeeded)
        let mountpoint = lake.directory.file("mnt")
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        let run = try lake.run(["mount", "-o", "passthrough_kept=lots", mountpoint])
        #expect(!run.succeeded && run.stderr.contains("passthrough_kept=lots"), "\(run.stdout) \(run.stderr)")
        _ = try? lake.run(["unmount", mountpoint])
    }

    @Test func theDaemonServesEverythingWithNoPassthrough() throws {
        let mounted = try MountedLake(options: ["no_passthrough"])
        _ = try exercise(mounted)
        let log = try mounted.unmountAndReadLog()
        #expect(log.after("FUSE passthrough: ") == "off (not asked for)")
        let served = served(log)
        #expect(served?.opens == 0)
        #expect((served?.reads ?? 0) > 0)
    }

    /// A descriptor that outlives the first close cannot change the stored object: its later
    /// writes fail with EIO (the writer is told), the receipt and its object stay whole, and the
    /// file can be read meanwhile.
    @Test(arguments: [[], ["no_passthrough"]])
    func bytesWrittenAfterTheCommittingCloseFailAndNeverReachTheObject(options: [String]) throws {
        let mounted = try MountedLake(options: options)
        let script = """
            import errno, os, sys
            fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
            os.write(fd, b'first\\\\n')
            other = os.dup(fd)
            os.close(fd)
            with open(sys.argv[1], 'rb') as reader:
                assert reader.read() == b'first\\\\n', 'a reader while the writer still holds a descriptor'
            try:
                os.write(other, b'second\\\\n')
                print('the late write succeeded')
            except OSError as e:
                assert e.errno == errno.EIO, e
            os.close(other)
            """
        let run = try Shell.run("python3 -c \"\(script)\" '\(mounted.path("incoming/late.txt"))' 2>&1")
        #expect(run.status == 0 && run.output.isEmpty, "\(run.output)")
        let id = try mounted.xattr("incoming/late.txt", "user.lake.id")
        #expect(try String(contentsOfFile: mounted.path("objects/\(id)/late.txt"), encoding: .utf8) == "first\n")
        #expect(try String(contentsOfFile: mounted.path("incoming/late.txt"), encoding: .utf8) == "first\n")
        let verify = try mounted.lake.run(["verify"])
        #expect(verify.succeeded, "\(verify.stdout)\(verify.stderr)")
    }
}
