import Foundation
import LakeSystem
import LakeS3
import LakeTestSupport
import Testing

/// A store whose blobs live in an S3 bucket (a real SeaweedFS on loopback), end to end through
/// the CLI and the mount: `lake init --blobs s3://…`, upload, processing, reads from this node's
/// cache and, once the cache lost a blob, from the bucket again.
@Suite struct BucketStoreTests {
    @Test func aStoreWithItsBlobsInABucket() throws {
        let server = try SeaweedS3()
        let lake = LakeBinary()
        let url = "s3://lake-e2e/team-a?endpoint=\(server.endpoint)&region=us-east-1"
        let anonymous = ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""]

        // No credentials, or wrong ones: `lake init` says so and makes no store.
        let refused = try lake.run(["init", "--blobs", url], environment: anonymous)
        #expect(refused.status != 0 && refused.stderr.contains("AWS_ACCESS_KEY_ID"), "\(refused.stderr)")
        let forged = try lake.run(["init", "--blobs", url], environment: ["AWS_ACCESS_KEY_ID": server.accessKey, "AWS_SECRET_ACCESS_KEY": "wrong"])
        #expect(forged.status != 0 && forged.stderr.contains("403"), "\(forged.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lake.store + "/lake.json"))
        #expect(try lake.run(["init", "--blobs", "s3://Bad_Bucket"], environment: server.credentials).stderr.contains("names no bucket"))

        let made = try lake.run(["init", "--blobs", url, "--cache-size", "1G"], environment: server.credentials)
        #expect(made.succeeded, "\(made.stderr)")
        let config = try String(contentsOfFile: lake.store + "/lake.json", encoding: .utf8)
        #expect(config.contains("lake-e2e") && !config.contains(server.secretKey), "credentials never go into lake.json")
        // A second store on the same prefix would find these blobs unused and gc them: refused.
        let second = LakeBinary()
        let shared = try second.run(["init", "--blobs", url], environment: server.credentials)
        #expect(shared.status != 0 && shared.stderr.contains("holds the blobs of store"), "\(shared.stderr)")
        #expect(!FileManager.default.fileExists(atPath: second.store))

        let source = lake.directory.write("part.stl", Fixtures.asciiSTL(triangles: 12))
        let uploaded = try lake.json(try lake.run(["upload", source, "--json"], environment: server.credentials))
        let id = try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(uploaded)")
        let ready = try lake.run(["wait", id, "--timeout", "120"], environment: server.credentials)
        #expect(ready.succeeded && ready.stdout.hasPrefix("READY"), "\(ready.stdout)\(ready.stderr)")

        // The bytes are in the bucket, under the store's prefix, named by their SHA-256.
        let client = try S3Location(url: url).client(environment: server.credentials)
        let keys = try client.list(prefix: "team-a/blobs/").map(\.key)
        let sha = try Shell.sha256(source)
        #expect(keys == ["team-a/blobs/\(sha)"], "\(keys)")

        // Read back from this node's cache, then from the bucket once the cache has lost it.
        #expect(try lake.run(["object", "get", id, "-o", lake.directory.file("one.stl")], environment: server.credentials).succeeded)
        #expect(try Shell.sha256(lake.directory.file("one.stl")) == sha)
        _ = try Shell.run("rm -f '\(lake.store)'/cache/blobs/*/*")
        #expect(try lake.run(["object", "get", id, "-o", lake.directory.file("two.stl")], environment: server.credentials).succeeded)
        #expect(try Shell.sha256(lake.directory.file("two.stl")) == sha)
        let verified = try lake.run(["verify"], environment: server.credentials)
        #expect(verified.succeeded, "\(verified.stdout)\(verified.stderr)")

        // Without credentials the store does not open, and says why.
        let locked = try lake.run(["object", "ls"], environment: anonymous)
        #expect(locked.status != 0 && locked.stderr.contains("AWS_SECRET_ACCESS_KEY"), "\(locked.stderr)")

        // Through the mount: the daemon reads the blob from the cache (fetched again: removed above).
        _ = try Shell.run("rm -f '\(lake.store)'/cache/blobs/*/*")
        let (mountpoint, unmount) = try Self.mount(lake, server)
        defer { unmount() }
        #expect(try Shell.sha256(mountpoint + "/objects/\(id)/part.stl") == sha)
        let dropped = lake.directory.write("dropped.bin", String(repeating: "lake ", count: 20_000))
        #expect(try Shell.run("cp '\(dropped)' '\(mountpoint)/incoming/'").status == 0)
        #expect(try client.list(prefix: "team-a/blobs/").count == 2)

        // The bucket goes away: `lake verify` fails, and records no damage (nothing is known of
        // the bytes); the file already cached still reads through the mount.
        server.stop()
        let unreachable = try lake.run(["verify"], environment: server.credentials)
        #expect(unreachable.status != 0, "\(unreachable.stdout)")
        let shown = try lake.json(try lake.run(["object", "show", id, "--json"], environment: server.credentials))
        #expect(((shown["file"] as? [String: Any])?["blob"] as? [String: Any])?["damage"] is NSNull, "\(shown["file"] ?? "")")
        #expect(try Shell.sha256(mountpoint + "/objects/\(id)/part.stl") == sha)
    }

    /// A byte flipped in this node's cached copy is found by a read the daemon re-hashes (a
    /// receipt's, read in order): that read fails with EIO, the copy is dropped and nothing is
    /// recorded against the blob — the bucket's copy is not in question — and the next read
    /// fetches it again, verified, and gives the file's bytes.
    @Test func aDamagedCachedCopyIsFetchedAgainNotRecordedAsDamage() throws {
        let server = try SeaweedS3()
        let lake = LakeBinary()
        let url = "s3://lake-cached/n?endpoint=\(server.endpoint)&region=us-east-1"
        let made = try lake.run(["init", "--blobs", url], environment: server.credentials)
        #expect(made.succeeded, "\(made.stderr)")
        let (mountpoint, unmount) = try Self.mount(lake, server)
        defer { unmount() }
        let source = lake.directory.writeRandom("r.bin", size: 2 << 20, seed: 91)
        let sha = try Shell.sha256(source)
        #expect(try Shell.run("cp '\(source)' '\(mountpoint)/incoming/'").status == 0)
        let cached = lake.store + "/cache/blobs/\(sha.prefix(2))/\(sha)"
        #expect(FileManager.default.fileExists(atPath: cached))
        try flipByte(cached, at: 1_500_000)
        // Another name for the damaged file, as the upload's spool name is until the upload is
        // released (a hard-linked backup of the store would be one too): dropping the cache's
        // name leaves it linked, and the descriptor kept from the first open must go anyway.
        #expect(link(cached, lake.store + "/another-link") == 0)

        #expect(try Shell.run("cat '\(mountpoint)/incoming/r.bin' > /dev/null").status != 0, "damaged bytes were served whole")
        #expect(!FileManager.default.fileExists(atPath: cached), "the damaged copy stayed in the cache")
        let id = try Shell.run("getfattr --only-values -n user.lake.id '\(mountpoint)/incoming/r.bin' 2>/dev/null").output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let show = try lake.run(["object", "show", id, "--json"], environment: server.credentials)
        #expect(show.succeeded, "\(id): \(show.stderr)")
        let shown = try lake.json(show)
        #expect(((shown["file"] as? [String: Any])?["blob"] as? [String: Any])?["damage"] is NSNull, "\(shown["file"] ?? "")")
        #expect(try Shell.sha256(mountpoint + "/incoming/r.bin") == sha)
        #expect(FileManager.default.fileExists(atPath: cached), "the read did not fetch the blob again")
    }

    /// The same, through mounts that keep a file's pages between opens and serve its reads
    /// themselves (read-only; read-write without passthrough). The reads before the one that
    /// finds the damage have put damaged pages in the kernel's cache, and in the reader's hands:
    /// neither that reader's retries nor a later reader may then get the file whole from those
    /// pages and the copy fetched again. Every read either fails or gives the file's bytes.
    @Test(arguments: [["ro"], ["no_passthrough"]])
    func aDamagedCachedCopyIsNeverServedWhole(options: [String]) throws {
        let server = try SeaweedS3()
        let lake = LakeBinary()
        let made = try lake.run(["init", "--blobs", "s3://lake-pages/n?endpoint=\(server.endpoint)&region=us-east-1"],
                                environment: server.credentials)
        #expect(made.succeeded, "\(made.stderr)")
        let source = lake.directory.writeRandom("p.bin", size: 3 << 20, seed: 37)
        let sha = try Shell.sha256(source)
        let uploaded = try lake.json(try lake.run(["upload", source, "--json"], environment: server.credentials))
        let id = try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(uploaded)")
        let cached = lake.store + "/cache/blobs/\(sha.prefix(2))/\(sha)"
        #expect(FileManager.default.fileExists(atPath: cached))
        try flipByte(cached, at: 1_000_000)
        let (mountpoint, unmount) = try Self.mount(lake, server, options: options)
        defer { unmount() }
        let file = "\(mountpoint)/objects/\(id)/file"

        // The read that finds the damage fails (or, its failed part fetched again and its
        // bytes before it checked, gives the file); it never gives other bytes.
        let first = try Shell.run("sha256sum < '\(file)' 2>&1")
        #expect(first.status != 0 || first.output.hasPrefix(sha), "the first read gave \(first.output)")
        // Read again until a read succeeds (the copy fetched again, the damaged pages gone):
        // what it gives is the file's bytes.
        var read = ""
        let succeeded = LakeTestSupport.eventually(30) {
            read = (try? Shell.run("sha256sum < '\(file)' 2>/dev/null")).flatMap { $0.status == 0 ? String($0.output.prefix(64)) : nil } ?? ""
            return !read.isEmpty
        }
        #expect(succeeded && read == sha, "read \(read), the file is \(sha)")
    }

    /// The bucket stops in the middle of a read (the server killed while the reply is in flight,
    /// held there by a proxy): the read fails with EIO and no byte that is not the file's, the
    /// fetch leaves nothing behind, the daemon goes on serving, and once the server is back the
    /// same read gives the whole file.
    @Test func aBucketThatStopsMidReadGivesEIOThenTheFileWhenItIsBack() throws {
        let server = try SeaweedS3()
        let lake = LakeBinary()
        let proxy = try CuttingProxy(to: server.port, after: 5 << 20 + 11, cuts: 1, holding: true)
        defer { proxy.stop() }
        let made = try lake.run(["init", "--blobs", "s3://lake-gone/n?endpoint=\(proxy.endpoint)&region=us-east-1"],
                                environment: server.credentials)
        #expect(made.succeeded, "\(made.stderr)")
        let source = lake.directory.writeRandom("mid.bin", size: 24 << 20, seed: 17)
        let uploaded = try lake.json(try lake.run(["upload", source, "--json"], environment: server.credentials))
        let id = try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(uploaded)")
        let sha = try Shell.sha256(source)
        #expect(try lake.run(["wait", id, "--timeout", "120"], environment: server.credentials).stdout.hasPrefix("READY"))
        _ = try Shell.run("rm -f '\(lake.store)'/cache/blobs/*/*")
        let (mountpoint, unmount) = try Self.mount(lake, server)
        defer { unmount() }
        let file = "\(mountpoint)/objects/\(id)/mid.bin", copy = lake.directory.file("copy.bin")

        let reader = try ChildProcess("/bin/sh", ["-c", "cat '\(file)' > '\(copy)'"], errors: .pipe)
        #expect(eventually(60) { proxy.cutsMade() == 1 }, "the fetch never reached the proxy's hold")
        server.stop()
        proxy.release()
        let message = String(decoding: ChildProcess.readToEnd(reader.errors!), as: UTF8.self)
        let ended = reader.wait()
        #expect(ended.status != 0 && message.contains("Input/output error"), "\(ended): \(message)")
        let got = (try? Data(contentsOf: URL(fileURLWithPath: copy))) ?? Data()
        #expect(try Data(contentsOf: URL(fileURLWithPath: source)).starts(with: got), "bytes that are not the file's were served")
        #expect(try FileManager.default.contentsOfDirectory(atPath: lake.store + "/cache/fetching").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountpoint + "/objects").contains(id), "the daemon stopped serving")

        // Back once it serves the object again (its S3 port answers before its volumes are loaded).
        try server.restart()
        let client = try S3Location(url: "s3://lake-gone/n?endpoint=\(server.endpoint)&region=us-east-1").client(environment: server.credentials)
        #expect(eventually(120) { ((try? client.get("n/blobs/\(sha)", range: 0..<1)) ?? nil) != nil }, "the server did not come back")
        #expect(try Shell.sha256(file) == sha)
        #expect(FileManager.default.fileExists(atPath: lake.store + "/cache/blobs/\(sha.prefix(2))/\(sha)"))
    }

    /// Mounts the store with the server's credentials at `mnt` in the test's folder; the closure
    /// takes it down (killing the daemon if it does not go).
    static func mount(_ lake: LakeBinary, _ server: SeaweedS3, options: [String] = []) throws -> (String, () -> Void) {
        let mountpoint = lake.directory.file("mnt")
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        let mounted = try lake.run(["mount", mountpoint] + options.flatMap { ["-o", $0] }, environment: server.credentials)
        #expect(mounted.succeeded, "\(mounted.stderr)")
        return (mountpoint, {
            _ = try? lake.run(["unmount", mountpoint], store: false)
            _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mountpoint) ' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
        })
    }
}
