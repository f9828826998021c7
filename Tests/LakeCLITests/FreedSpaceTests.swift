import Foundation
import Glibc
import LakeTestSupport
import Testing

/// A mount keeps blob files open between a file's opens (its descriptor cache, the kernel's
/// passthrough backings). When `lake gc` removes those blobs while the mount runs, their disk
/// space must come back: a user who deletes data to free a full disk sees `df` move, even if the
/// daemon then stays idle for a week.
@Suite(.serialized) struct FreedSpaceTests {
    /// Bytes in use on the file system holding `path`.
    static func used(_ path: String) -> Int64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return -1 }
        return Int64(info.f_blocks - info.f_bfree) * Int64(info.f_frsize)
    }

    @Test(arguments: [[], ["ro"]])
    func theSpaceOfBlobsRemovedWhileMountedComesBack(options: [String]) throws {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        // The store on a file system of its own, so its space is measured without anyone else's.
        let small = lake.directory.file("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        #expect(try Shell.run("mount -t tmpfs -o size=96m tmpfs '\(small)'").status == 0)
        defer { _ = try? Shell.run("umount -l '\(small)'") }
        let store = small + "/store"
        #expect(try lake.run(["init", "--store", store], store: false).succeeded)
        #expect(try lake.run(["mount", mounted.mountpoint, "--store", store] + options.flatMap { ["-o", $0] }, store: false).succeeded)
        defer { _ = try? lake.run(["unmount", mounted.mountpoint], store: false) }

        let files = (0..<3).map { lake.directory.writeRandom("f\($0).bin", size: 6 << 20, seed: UInt64(2 * $0 + 11)) }
        let upload = try lake.run(["upload"] + files + ["--json", "--store", store], store: false)
        let ids = try #require((try lake.json(upload)["succeeded"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, "\(upload.stderr)")
        #expect(ids.count == 3)
        // Read twice: the daemon keeps each blob open for the next open (and, read-write, the
        // kernel keeps each inode's passthrough backing file).
        for _ in 0..<2 {
            for id in ids {
                #expect(mounted.eventually(30) { FileManager.default.fileExists(atPath: mounted.path("objects/\(id)/file")) })
                #expect(try Shell.run("cat '\(mounted.path("objects/\(id)/file"))' > /dev/null").status == 0)
            }
        }
        let before = Self.used(small)
        #expect(try lake.run(["object", "rm"] + ids + ["--store", store], store: false).succeeded)
        #expect(try lake.run(["trash", "purge", "--all", "--store", store], store: false).succeeded)
        let gc = try lake.json(try lake.run(["gc", "--json", "--store", store], store: false))
        #expect(Set(gc["removed_blobs"] as? [String] ?? []).count == 3, "\(gc)")
        #expect((gc["freed_bytes"] as? Int ?? 0) == 3 * (6 << 20), "\(gc)")
        // The daemon, idle from here on, lets go of the removed files within seconds.
        let freed = mounted.eventually(30) { before - Self.used(small) >= 3 * (6 << 20) - (1 << 20) }
        #expect(freed, "still in use: \(Self.used(small)) bytes, \(before) before gc")
        // The lake still serves: a new file is stored and read back.
        let again = lake.directory.writeRandom("again.bin", size: 1 << 20, seed: 99)
        let next = try lake.run(["upload", again, "--json", "--store", store], store: false)
        let id = try #require((try lake.json(next)["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(next.stderr)")
        #expect(mounted.eventually(30) { (try? Shell.sha256(mounted.path("objects/\(id)/file"))) == (try? Shell.sha256(again)) })
    }

    /// A bucket store's node cache drops blobs to make room (here: removed by hand, as a cache
    /// that lost them would): the objects stay, so the kernel keeps their inodes and, read-write,
    /// their passthrough backing files (read-only: the handle each inode read keeps). Those must
    /// not keep the dropped files' space either.
    @Test(arguments: [[], ["ro"]])
    func cachedBlobsDroppedWhileMountedGiveTheirSpaceBack(options: [String]) throws {
        let server = try SeaweedS3()
        let lake = LakeBinary()
        let small = lake.directory.file("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        #expect(try Shell.run("mount -t tmpfs -o size=96m tmpfs '\(small)'").status == 0)
        defer { _ = try? Shell.run("umount -l '\(small)'") }
        let store = small + "/store"
        let url = "s3://lake-freed/space?endpoint=\(server.endpoint)&region=us-east-1"
        let made = try lake.run(["init", "--blobs", url, "--cache-size", "64M", "--store", store], store: false, environment: server.credentials)
        #expect(made.succeeded, "\(made.stderr)")
        let mountpoint = lake.directory.file("mnt")
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        let mounted = try lake.run(["mount", mountpoint, "--store", store] + options.flatMap { ["-o", $0] }, store: false,
                                   environment: server.credentials)
        #expect(mounted.succeeded, "\(mounted.stderr)")
        defer {
            _ = try? lake.run(["unmount", mountpoint], store: false)
            _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mountpoint) ' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
        }
        let files = (0..<3).map { lake.directory.writeRandom("f\($0).bin", size: 6 << 20, seed: UInt64(2 * $0 + 31)) }
        let upload = try lake.run(["upload"] + files + ["--json", "--store", store], store: false, environment: server.credentials)
        let ids = try #require((try lake.json(upload)["succeeded"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, "\(upload.stderr)")
        #expect(ids.count == 3)
        for _ in 0..<2 {
            for id in ids {
                #expect(LakeTestSupport.eventually(30) { FileManager.default.fileExists(atPath: "\(mountpoint)/objects/\(id)/file") })
                #expect(try Shell.run("cat '\(mountpoint)/objects/\(id)/file' > /dev/null").status == 0)
            }
        }
        let before = Self.used(small)
        #expect(try Shell.run("rm -f '\(store)'/cache/blobs/*/*").status == 0)
        let freed = LakeTestSupport.eventually(30) { before - Self.used(small) >= 3 * (6 << 20) - (1 << 20) }
        #expect(freed, "still in use: \(Self.used(small)) bytes, \(before) before the cache dropped its blobs")
        // The files still read, fetched from the bucket again.
        for (id, file) in zip(ids, files) {
            #expect(try Shell.sha256("\(mountpoint)/objects/\(id)/file") == (try Shell.sha256(file)))
        }
    }
}
