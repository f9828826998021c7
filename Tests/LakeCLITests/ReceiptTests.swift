import Foundation
import LakeTestSupport
import Testing

/// Receipts in incoming/ are catalog rows: they outlive the mount (clean or killed), keep what
/// `cp -p`, `chmod`, `chown` and `touch -d` set, so `rsync -a` run twice uploads nothing the
/// second time; and their names are bytes, as on ext4.
@Suite struct ReceiptTests {
    func objectCount(_ mounted: MountedLake) throws -> Int {
        let listed = try mounted.lake.json(try mounted.lake.run(["object", "ls", "--json", "--limit", "10000"]))
        return (listed["objects"] as? [[String: Any]])?.count ?? -1
    }

    /// Size, mode, owner and modification time (the source's access time moves as cp reads it).
    func stat(_ path: String) throws -> String {
        try Shell.run("stat -c '%s %a %u %g %.9Y' '\(path)'").output
    }

    @Test(arguments: ["clean", "killed"])
    func receiptsOutliveTheMount(how: String) throws {
        let mounted = try MountedLake()
        let source = mounted.lake.directory.writeRandom("kept.bin", size: 300_000, seed: 5)
        try Shell.run("chmod 640 '\(source)'; touch -d '2001-02-03 04:05:06.123456789' '\(source)'")
        #expect(try Shell.run("mkdir '\(mounted.path("incoming/sub"))' && cp -p '\(source)' '\(mounted.path("incoming/sub/"))'").status == 0)
        let receipt = mounted.path("incoming/sub/kept.bin")
        let id = try mounted.xattr("incoming/sub/kept.bin", "user.lake.id")
        let before = try stat(receipt)
        #expect(before == (try stat(source)), "cp -p keeps size, mode, owner and times")
        #expect(try Shell.run("stat -c %.9X '\(receipt)'").output == "981173106.123456789\n", "and the access time it read")
        if how == "clean" {
            #expect(try mounted.lake.run(["unmount", mounted.mountpoint], store: false).succeeded)
        } else {
            #expect(try Shell.run("pkill -9 -f '[l]ake mount \(mounted.mountpoint) ' ; fusermount3 -uz '\(mounted.mountpoint)'").status == 0)
        }
        try mounted.mount()
        #expect(try stat(receipt) == before)
        #expect(try mounted.xattr("incoming/sub/kept.bin", "user.lake.id") == id)
        #expect(try Shell.sha256(receipt) == Shell.sha256(source))
        // rm still removes the receipt only, and for good.
        #expect(try Shell.run("rm '\(receipt)'").status == 0)
        _ = try mounted.lake.run(["unmount", mounted.mountpoint], store: false)
        try mounted.mount()
        #expect(!FileManager.default.fileExists(atPath: receipt))
        #expect(FileManager.default.fileExists(atPath: mounted.path("incoming/sub")))
        #expect(try objectCount(mounted) == 1)
    }

    @Test func rsyncRunTwiceUploadsNothingTheSecondTime() throws {
        let mounted = try MountedLake()
        let source = mounted.lake.directory.file("tree")
        try FileManager.default.createDirectory(atPath: source + "/d0", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: source + "/d1", withIntermediateDirectories: true)
        for i in 0..<6 { mounted.lake.directory.writeRandom("tree/d\(i % 2)/f\(i).bin", size: 20_000 + i, seed: UInt64(i + 10)) }
        try Shell.run("chmod 600 '\(source)/d0/f0.bin'")
        let first = try Shell.run("rsync -a '\(source)/' '\(mounted.path("incoming/tree/"))' 2>&1")
        #expect(first.status == 0, "\(first.output)")
        #expect(try objectCount(mounted) == 6)
        let second = try Shell.run("rsync -a --itemize-changes '\(source)/' '\(mounted.path("incoming/tree/"))' 2>&1")
        #expect(second.status == 0 && !second.output.contains(">f"), "nothing is sent again: \(second.output)")
        #expect(try objectCount(mounted) == 6)
        // …also after a remount.
        _ = try mounted.lake.run(["unmount", mounted.mountpoint], store: false)
        try mounted.mount()
        let third = try Shell.run("rsync -a --itemize-changes '\(source)/' '\(mounted.path("incoming/tree/"))' 2>&1")
        #expect(third.status == 0 && !third.output.contains(">f"), "\(third.output)")
        #expect(try objectCount(mounted) == 6)
        #expect(try Shell.run("stat -c %a '\(mounted.path("incoming/tree/d0/f0.bin"))'").output == "600\n")
        // A changed file is sent again, as a new object.
        mounted.lake.directory.writeRandom("tree/d1/f1.bin", size: 33_333, seed: 99)
        #expect(try Shell.run("rsync -a '\(source)/' '\(mounted.path("incoming/tree/"))'").status == 0)
        #expect(try objectCount(mounted) == 7)
    }

    @Test func chmodChownAndTouchChangeAReceipt() throws {
        let mounted = try MountedLake()
        #expect(try Shell.run("echo hello > '\(mounted.path("incoming/a.txt"))'").status == 0)
        let receipt = mounted.path("incoming/a.txt")
        #expect(try Shell.run("chmod 604 '\(receipt)' && chown 65534:65534 '\(receipt)' && touch -m -d '1999-12-31 23:59:59.5' '\(receipt)'").status == 0)
        #expect(try Shell.run("stat -c '%a %u %g %.1Y' '\(receipt)'").output == "604 65534 65534 946684799.5\n")
        _ = try mounted.lake.run(["unmount", mounted.mountpoint], store: false)
        try mounted.mount()
        #expect(try Shell.run("stat -c '%a %u %g %.1Y' '\(receipt)'").output == "604 65534 65534 946684799.5\n")
    }

    /// Two names that differ in any byte are two files, as on ext4: the NFC and NFD forms of
    /// "café", and names that are not UTF-8 (listed exactly, never as U+FFFD).
    @Test func namesAreBytes() throws {
        let mounted = try MountedLake()
        let incoming = mounted.path("incoming")
        let script = """
            import os, sys
            d = sys.argv[1].encode()
            names = ['caf\\u00e9.txt'.encode(), 'cafe\\u0301.txt'.encode(), b'x\\xff.txt', b'x\\xfe.txt']
            for n in names:
                with open(d + b'/' + n, 'wb') as f:
                    f.write(b'content of ' + n)
            listed = sorted(os.listdir(d))
            assert listed == sorted(names), listed
            for n in names:
                assert open(d + b'/' + n, 'rb').read() == b'content of ' + n, n
            os.remove(d + b'/' + names[0])
            os.remove(d + b'/' + names[2])
            assert sorted(os.listdir(d)) == sorted([names[1], names[3]]), os.listdir(d)
            print('ok')
            """
        let run = try Shell.run("python3 -c \"\(script)\" '\(incoming)' 2>&1")
        #expect(run.output == "ok\n", "\(run.output)")
        _ = try mounted.lake.run(["unmount", mounted.mountpoint], store: false)
        try mounted.mount()
        let after = try Shell.run("python3 -c \"import os,sys; print(sorted(os.listdir(sys.argv[1].encode())))\" '\(incoming)'")
        #expect(after.output == "[b'cafe\\xcc\\x81.txt', b'x\\xfe.txt']\n", "\(after.output)")
        // The objects' names keep every byte: `\xHH` for bytes that are not UTF-8, `\\` for a backslash.
        let script2 = mounted.lake.directory.write("ids.py", #"""
            import os, sys
            d = sys.argv[1].encode()
            open(d + b'/a\\b.txt', 'w').write('b')
            print(os.getxattr(d + b'/x\xfe.txt', 'user.lake.id').decode(), os.getxattr(d + b'/a\\b.txt', 'user.lake.id').decode())
            """#)
        let ids = try Shell.run("python3 '\(script2)' '\(incoming)'").output.split(separator: " ")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(ids.count == 2)
        let names = try ids.map { try mounted.lake.json(try mounted.lake.run(["object", "show", $0, "--json"]))["name"] as? String }
        #expect(names == [#"x\xfe.txt"#, #"a\\b.txt"#], "\(names)")
    }

    /// A reader of a receipt keeps the version it opened, whole, while the name is written over.
    @Test(arguments: [[], ["no_passthrough"]])
    func aReaderKeepsTheVersionItOpened(options: [String]) throws {
        let mounted = try MountedLake(options: options)
        let old = mounted.lake.directory.writeRandom("old.bin", size: 3 << 20, seed: 1)
        let new = mounted.lake.directory.writeRandom("new.bin", size: 1 << 20, seed: 2)
        let receipt = mounted.path("incoming/data.bin")
        #expect(try Shell.run("cp '\(old)' '\(receipt)'").status == 0)
        let script = """
            import hashlib, shutil, subprocess, sys
            receipt, new, via = sys.argv[1], sys.argv[2], sys.argv[3]
            with open(receipt, 'rb') as f:
                head = f.read(4096)
                if via == 'cp':
                    subprocess.run(['cp', new, receipt], check=True)
                else:
                    subprocess.run(['cp', new, receipt + '.tmp'], check=True)
                    subprocess.run(['mv', receipt + '.tmp', receipt], check=True)
                rest = f.read()
            print(hashlib.sha256(head + rest).hexdigest())
            """
        for via in ["cp", "mv"] {
            #expect(try Shell.run("cp '\(old)' '\(receipt)'").status == 0)
            let run = try Shell.run("python3 -c \"\(script)\" '\(receipt)' '\(new)' \(via) 2>&1")
            #expect(run.output.trimmingCharacters(in: .whitespacesAndNewlines) == (try Shell.sha256(old)), "\(via): \(run.output)")
            #expect(try Shell.sha256(receipt) == Shell.sha256(new))
        }
    }
}
