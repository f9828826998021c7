import Foundation
import LakeS3
import LakeTestSupport
import Testing

/// Many machines, one lake: store folders (one per node) sharing one PostgreSQL catalog and one
/// S3 bucket (a real PostgreSQL and a real SeaweedFS on loopback), through the CLI and the mount.
@Suite struct ClusterTests {
    let postgres = PostgresServer.shared

    /// `lake init` of two nodes on one catalog and bucket, as the issue's commands; the nodes'
    /// environments, with the password and the keys.
    func twoNodes(_ server: SeaweedS3, bucket: String) throws -> (a: LakeBinary, b: LakeBinary, env: [String: String], catalog: String) {
        let catalog = try postgres.makeDatabase()
        let env = server.credentials.merging(postgres.environment) { $1 }
        let blobs = "s3://\(bucket)/prod?endpoint=\(server.endpoint)&region=us-east-1"
        let a = LakeBinary(), b = LakeBinary()
        for node in [a, b] {
            let made = try node.run(["init", "--catalog", catalog, "--blobs", blobs, "--cache-size", "1G"], environment: env)
            #expect(made.succeeded, "\(made.stderr)")
        }
        return (a, b, env, catalog)
    }

    @Test func twoNodesShareOneCatalogAndOneBucket() throws {
        let server = try SeaweedS3()
        let (a, b, env, catalog) = try twoNodes(server, bucket: "lake-two")

        // The second node joined the first's store: one identity (the bucket's claim accepted it).
        let configA = try String(contentsOfFile: a.store + "/lake.json", encoding: .utf8)
        let configB = try String(contentsOfFile: b.store + "/lake.json", encoding: .utf8)
        let storeID = { (text: String) in text.split(separator: "\n").first { $0.contains("\"store_id\"") }.map(String.init) }
        #expect(storeID(configA) != nil && storeID(configA) == storeID(configB), "\(configA)\n\(configB)")
        #expect(configA.contains(catalog) && !configA.contains(postgres.password), "no password in lake.json")
        #expect(!FileManager.default.fileExists(atPath: a.store + "/catalog.sqlite"), "the catalog is the database, not a file")

        // Uploaded on A, listed, processed and read on B.
        let source = a.directory.write("part.stl", Fixtures.asciiSTL(triangles: 12))
        let uploaded = try a.json(try a.run(["upload", source, "--json"], environment: env))
        let id = try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(uploaded)")
        let listed = try b.run(["object", "ls"], environment: env)
        #expect(listed.stdout.contains(id), "\(listed.stdout)\(listed.stderr)")
        let ready = try b.run(["wait", id, "--timeout", "120"], environment: env)
        #expect(ready.succeeded && ready.stdout.hasPrefix("READY"), "\(ready.stdout)\(ready.stderr)")
        #expect(try b.run(["object", "get", id, "-o", b.directory.file("got.stl")], environment: env).succeeded)
        #expect(try Shell.sha256(b.directory.file("got.stl")) == Shell.sha256(source))
        let status = try b.json(try b.run(["status", "--json"], environment: env))
        #expect(status["catalog_url"] as? String == catalog && (status["objects"] as? [String: Int])?["READY"] == 1, "\(status)")
        #expect(try a.run(["verify"], environment: env).succeeded)
    }

    /// What goes wrong with a catalog's address or password is said plainly, and a password is
    /// never written down or echoed.
    @Test func aCatalogsAddressAndPasswordAreCheckedAndNeverKept() throws {
        let catalog = try postgres.makeDatabase()
        let lake = LakeBinary()
        let withPassword = catalog.replacingOccurrences(of: "lake@", with: "lake:hunter2@")
        let refused = try lake.run(["init", "--catalog", withPassword], environment: postgres.environment)
        #expect(refused.status != 0 && refused.stderr.contains("PGPASSWORD") && !refused.stderr.contains("hunter2"), "\(refused.stderr)")
        let inQuery = try lake.run(["init", "--catalog", catalog + "?password=hunter2"], environment: postgres.environment)
        #expect(inQuery.status != 0 && !inQuery.stderr.contains("hunter2"), "\(inQuery.stderr)")
        let wrong = try lake.run(["init", "--catalog", catalog], environment: ["PGPASSWORD": "not-the-password"])
        #expect(wrong.status != 0 && wrong.stderr.contains("password authentication failed") && !wrong.stderr.contains("not-the-password"),
                "\(wrong.stderr)")
        let nobody = try lake.run(["init", "--catalog", "postgres://lake@127.0.0.1:1/lake"], environment: postgres.environment)
        #expect(nobody.status != 0 && nobody.stderr.contains("127.0.0.1:1"), "\(nobody.stderr)")
        let notPostgres = try lake.run(["init", "--catalog", "mysql://lake@127.0.0.1/lake"], environment: postgres.environment)
        #expect(notPostgres.status != 0 && notPostgres.stderr.contains("postgres://"), "\(notPostgres.stderr)")
        #expect(!FileManager.default.fileExists(atPath: lake.store + "/lake.json"), "no store was made")

        // A good one: made, and a second init on it changes nothing.
        #expect(try lake.run(["init", "--catalog", catalog], environment: postgres.environment).succeeded)
        let again = try lake.run(["init", "--catalog", catalog], environment: postgres.environment)
        #expect(again.succeeded && again.stdout.contains("already exists"), "\(again.stdout)")
        // Without the password the store does not open, and says why.
        let locked = try lake.run(["object", "ls"], environment: ["PGPASSWORD": ""])
        #expect(locked.status != 0 && locked.stderr.contains(catalog), "\(locked.stderr)")
    }

    /// Two mounts, one per node: a file copied into A's incoming/ appears in B's objects/, and
    /// each daemon's session is listed by `lake status` on either node until it unmounts.
    @Test func mountsOnTwoNodesSeeEachOthersUploads() throws {
        let server = try SeaweedS3()
        let (a, b, env, _) = try twoNodes(server, bucket: "lake-mounts")
        var mounted: [(LakeBinary, String)] = []
        defer {
            for (node, mountpoint) in mounted {
                _ = try? node.run(["unmount", mountpoint], store: false)
                _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mountpoint) ' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
            }
        }
        for node in [a, b] {
            let mountpoint = node.directory.file("mnt")
            try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
            let result = try node.run(["mount", mountpoint], environment: env)
            #expect(result.succeeded, "\(result.stderr)")
            mounted.append((node, mountpoint))
        }
        let (mountA, mountB) = (mounted[0].1, mounted[1].1)
        let source = a.directory.writeRandom("sample.bin", size: 300_000, seed: 5)
        #expect(try Shell.run("cp '\(source)' '\(mountA)/incoming/'").status == 0)
        let id = try Shell.run("getfattr --absolute-names --only-values -n user.lake.id '\(mountA)/incoming/sample.bin'").output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.hasPrefix("obj-"), "\(id)")
        #expect(eventually(30) { FileManager.default.fileExists(atPath: "\(mountB)/objects/\(id)/sample.bin") }, "B never showed A's upload")
        #expect(try Shell.sha256("\(mountB)/objects/\(id)/sample.bin") == Shell.sha256(source))

        func nodes(_ node: LakeBinary) -> [[String: Any]] {
            ((try? node.json(try node.run(["status", "--json"], environment: env)))?["nodes"] as? [[String: Any]]) ?? []
        }
        #expect(eventually(30) { Set(nodes(b).compactMap { $0["mountpoint"] as? String }) == [mountA, mountB] }, "\(nodes(b))")
        let text = try b.run(["status"], environment: env).stdout
        #expect(text.contains("Node ") && text.contains(mountA), "\(text)")
        #expect(try a.run(["unmount", mountA], store: false).succeeded)
        #expect(eventually(30) { nodes(b).compactMap { $0["mountpoint"] as? String } == [mountB] }, "\(nodes(b))")
    }

    /// A VTU of `values` Float32 point values in raw appended form: big enough that processing
    /// it takes a few tenths of a second (its MD5 alone), so a kill can land in the middle.
    static func bigVTU(_ path: String, values: Int) throws {
        let script = #"""
            import struct, sys
            path, n = sys.argv[1], int(sys.argv[2])
            head = ('<?xml version="1.0"?>\n<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">\n'
                    '<UnstructuredGrid><Piece NumberOfPoints="%d" NumberOfCells="0"><PointData>'
                    '<DataArray type="Float32" Name="p" format="appended" offset="0"/></PointData></Piece></UnstructuredGrid>\n'
                    '<AppendedData encoding="raw">\n_') % n
            chunk = struct.pack("<65536f", *[float(i % 977) for i in range(65536)])
            with open(path, "wb") as f:
                f.write(head.encode()); f.write(struct.pack("<Q", n * 4))
                for _ in range(n // 65536): f.write(chunk)
                f.write(b"\n</AppendedData>\n</VTKFile>\n")
            """#
        _ = try Command.output("/usr/bin/env", ["python3", "-c", script, path, String(values)])
    }

    /// Node A's daemon is killed (SIGKILL) while it processes an object; once A's lease has run
    /// out (set to the past here instead of waiting a minute), node B's daemon takes the object
    /// from the shared queue and finishes it.
    @Test func anObjectANodeDiedProcessingIsFinishedByAnother() throws {
        let server = try SeaweedS3()
        let (a, b, env, catalog) = try twoNodes(server, bucket: "lake-kill")
        let db = try postgres.connect(catalog)
        let (mountA, mountB) = (a.directory.file("mnt"), b.directory.file("mnt"))
        defer {
            for mountpoint in [mountA, mountB] {
                _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mountpoint) ' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
            }
        }
        try FileManager.default.createDirectory(atPath: mountA, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: mountB, withIntermediateDirectories: true)
        #expect(try a.run(["mount", mountA], environment: env).succeeded)
        let source = a.directory.file("big.vtu")
        try Self.bigVTU(source, values: 40 << 20)
        #expect(try Shell.run("cp '\(source)' '\(mountA)/incoming/'").status == 0)
        let id = try Shell.run("getfattr --absolute-names --only-values -n user.lake.id '\(mountA)/incoming/big.vtu'").output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        func state() throws -> (status: String, owner: String?) {
            let row = try db.run("SELECT status, lease_owner FROM objects WHERE id = $1", [id])[0]
            return (row["status"] ?? "", row["lease_owner"])
        }
        #expect(try eventually(60) { try state().status != "UPLOADED" })
        let claimed = try state()
        #expect(claimed.status == "PROCESSING", "A finished before it could be killed: \(claimed)")
        _ = try Shell.run("pkill -9 -f '[l]ake mount \(mountA) '")
        #expect(eventually(30) { (try? Shell.run("pgrep -f '[l]ake mount \(mountA) '").output.isEmpty) ?? false })
        _ = try Shell.run("fusermount3 -uz '\(mountA)'")
        let orphaned = try state()
        #expect(orphaned.status == "PROCESSING" && orphaned.owner == claimed.owner, "\(orphaned)")

        // The minute of A's lease, passed; then B's daemon takes it over.
        try db.run("UPDATE objects SET lease_expires_at = 0 WHERE id = $1", [id])
        #expect(try b.run(["mount", mountB], environment: env).succeeded)
        #expect(try eventually(120) { try state().status == "READY" }, "\(String(describing: try? state()))")
        let finished = try db.run("SELECT attempts, lease_owner, provisions FROM objects WHERE id = $1", [id])[0]
        #expect(finished.int64("attempts") == 2 && finished["lease_owner"] == nil, "\(finished["attempts"] ?? "")")
        #expect(finished["provisions"]?.contains("\"label\":\"p\"") == true, "\(finished["provisions"]?.prefix(200) ?? "")")
        #expect(try b.run(["unmount", mountB], store: false).succeeded)
    }

    /// Node A has put a blob in the bucket and not yet recorded it (its commit is on its way):
    /// `lake gc` on node B leaves it alone, as it does every unrecorded blob younger than the
    /// grace period; past it (set to 0 here), such a blob is an orphan and goes.
    @Test func gcOnOneNodeLeavesAnotherNodesUploadInFlight() throws {
        let server = try SeaweedS3()
        let (a, b, env, _) = try twoNodes(server, bucket: "lake-gc")
        let kept = a.directory.write("kept.bin", String(repeating: "recorded ", count: 1000))
        #expect(try a.run(["upload", kept], environment: env).succeeded)
        let bytes = Data("bytes of an upload whose commit has not landed yet".utf8)
        let sha = try Shell.sha256(a.directory.write("inflight.bin", bytes))
        let client = try S3Location(url: "s3://lake-gc/prod?endpoint=\(server.endpoint)&region=us-east-1").client(environment: server.credentials)
        _ = try client.put("prod/blobs/\(sha)", data: bytes)
        let keys = { try client.list(prefix: "prod/blobs/").map(\.key) }
        #expect(try keys().count == 2)

        let gc = try b.json(try b.run(["gc", "--json"], environment: env))
        #expect((gc["removed_blobs"] as? [String]) == [], "\(gc)")
        #expect(try keys().contains("prod/blobs/\(sha)"), "B's gc removed A's upload in flight")

        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: b.store + "/lake.json"))) as! [String: Any]
        config["gc_grace_hours"] = 0
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: b.store + "/lake.json"))
        let later = try b.json(try b.run(["gc", "--json"], environment: env))
        #expect((later["removed_blobs"] as? [String]) == [sha], "\(later)")
        #expect(try keys().count == 1, "the recorded blob stays")
    }

    /// PostgreSQL killed and started again under a mounted node (a server of its own): uploads
    /// through the mount and commands work again once it is back, without remounting, and the
    /// objects stored before are all there.
    @Test func aMountOutlivesARestartOfItsCatalog() throws {
        let own = try PostgresServer()
        let catalog = try own.makeDatabase()
        let env = own.environment
        let lake = LakeBinary()
        #expect(try lake.run(["init", "--catalog", catalog], environment: env).succeeded)
        let mountpoint = lake.directory.file("mnt")
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        defer {
            _ = try? lake.run(["unmount", mountpoint], store: false)
            _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mountpoint) ' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
        }
        #expect(try lake.run(["mount", mountpoint], environment: env).succeeded)
        let before = lake.directory.writeRandom("before.bin", size: 100_000, seed: 3)
        #expect(try Shell.run("cp '\(before)' '\(mountpoint)/incoming/'").status == 0)
        try own.restart()
        let after = lake.directory.writeRandom("after.bin", size: 100_000, seed: 4)
        #expect(try Shell.run("cp '\(after)' '\(mountpoint)/incoming/'").status == 0, "an upload after the restart failed")
        #expect(try Shell.sha256("\(mountpoint)/incoming/after.bin") == Shell.sha256(after))
        let listed = try lake.json(try lake.run(["object", "ls", "--json"], environment: env))
        #expect((listed["objects"] as? [[String: Any]])?.count == 2, "\(listed)")
        #expect(eventually(30) { ((try? FileManager.default.contentsOfDirectory(atPath: mountpoint + "/objects")) ?? []).count == 2 })

        // A name that is not UTF-8 goes into the catalog as bytes (BYTEA) and comes back the same
        // after a remount, the receipt read back from PostgreSQL.
        let script = "import os, sys; d = sys.argv[1].encode() + b'/incoming/'; "
            + "open(d + b'caf\\xe9-\\xff.bin', 'wb').write(b'latin-1 name'); "
            + "print(sorted(n.hex() for n in os.listdir(d)))"
        let named = try Command.output("/usr/bin/env", ["python3", "-c", script, mountpoint])
        #expect(named.contains("636166e92dff2e62696e"), "\(named)")
        #expect(try lake.run(["unmount", mountpoint], store: false).succeeded)
        #expect(try lake.run(["mount", mountpoint], environment: env).succeeded)
        let listing = "import os, sys; d = sys.argv[1].encode() + b'/incoming/'; "
            + "print(sorted(n.hex() for n in os.listdir(d)), open(d + b'caf\\xe9-\\xff.bin', 'rb').read())"
        let remounted = try Command.output("/usr/bin/env", ["python3", "-c", listing, mountpoint])
        #expect(remounted.contains("636166e92dff2e62696e") && remounted.contains("latin-1 name"), "\(remounted)")
    }

    /// A frozen dataset made on node A, prefetched on node B (its blobs fetched into B's cache,
    /// verified), then read through B's dataset mount with the bucket gone: every byte from B's disk.
    @Test func aPrefetchedDatasetReadsWithTheBucketGone() throws {
        let server = try SeaweedS3()
        let (a, b, env, _) = try twoNodes(server, bucket: "lake-prefetch")
        var ids: [String] = []
        var sources: [String] = []
        for index in 0..<3 {
            let source = a.directory.writeRandom("s\(index).bin", size: 200_000 + index, seed: UInt64(10 + index))
            let uploaded = try a.json(try a.run(["upload", source, "--json"], environment: env))
            ids.append(try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(uploaded)"))
            sources.append(source)
        }
        let caseID = try #require(try a.json(try a.run(["case", "create", "--name", "c", "--json"]
            + ids.enumerated().flatMap { ["--object", "\($0.element):s\($0.offset)"] }, environment: env))["id"] as? String)
        let dataset = try #require(try a.json(try a.run(["dataset", "create", "--name", "train", "--case", caseID, "--json"],
                                                        environment: env))["id"] as? String)
        let unfrozen = try b.run(["dataset", "prefetch", dataset], environment: env)
        #expect(unfrozen.status != 0 && unfrozen.stderr.contains("not frozen"), "\(unfrozen.stderr)")
        #expect(try a.run(["dataset", "freeze", dataset], environment: env).succeeded)

        let first = try b.json(try b.run(["dataset", "prefetch", dataset, "--json"], environment: env))
        #expect(first["blobs"] as? Int == 3 && first["fetched"] as? Int == 3 && first["fetched_bytes"] as? Int == 600_003, "\(first)")
        let again = try b.json(try b.run(["dataset", "prefetch", "train@latest", "--json"], environment: env))
        #expect(again["fetched"] as? Int == 0 && again["already_here"] as? Int == 3, "\(again)")

        server.stop()
        let mountpoint = b.directory.file("train")
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        defer {
            _ = try? b.run(["unmount", mountpoint], store: false)
            _ = try? Shell.run("pkill -9 -f '[l]ake mount.* \(mountpoint)' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
        }
        let mounted = try b.run(["mount", "--dataset", dataset, mountpoint], environment: env)
        #expect(mounted.succeeded, "\(mounted.stderr)")
        for (index, source) in sources.enumerated() {
            let path = try Shell.run("ls -d '\(mountpoint)'/cases/*/s\(index)/s\(index).bin").output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try Shell.sha256(path) == Shell.sha256(source), "\(path)")
        }
    }

    /// A dataset larger than the node's cache is refused before anything is fetched.
    @Test func aDatasetLargerThanTheCacheIsNotPrefetched() throws {
        let server = try SeaweedS3()
        let catalog = try postgres.makeDatabase()
        let env = server.credentials.merging(postgres.environment) { $1 }
        let lake = LakeBinary()
        #expect(try lake.run(["init", "--catalog", catalog, "--blobs", "s3://lake-small/p?endpoint=\(server.endpoint)&region=us-east-1",
                              "--cache-size", "100000"], environment: env).succeeded)
        let source = lake.directory.writeRandom("big.bin", size: 150_000, seed: 2)
        let uploaded = try lake.json(try lake.run(["upload", source, "--json"], environment: env))
        let id = try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String)
        let caseID = try #require(try lake.json(try lake.run(["case", "create", "--object", "\(id):x", "--json"], environment: env))["id"] as? String)
        let dataset = try #require(try lake.json(try lake.run(["dataset", "create", "--name", "d", "--case", caseID, "--json"], environment: env))["id"] as? String)
        #expect(try lake.run(["dataset", "freeze", dataset], environment: env).succeeded)
        let refused = try lake.run(["dataset", "prefetch", dataset], environment: env)
        #expect(refused.status != 0 && refused.stderr.contains("more than this node's cache holds"), "\(refused.stderr)")
    }

    /// Makes `node` reach the bucket through `proxy` from now on.
    func route(_ node: LakeBinary, from server: SeaweedS3, through proxy: CuttingProxy) throws {
        let config = node.store + "/lake.json"
        let text = try String(contentsOfFile: config, encoding: .utf8)
        let proxied = text.replacingOccurrences(of: "127.0.0.1:\(server.port)", with: "127.0.0.1:\(proxy.port)")
            .replacingOccurrences(of: "127.0.0.1%3A\(server.port)", with: "127.0.0.1%3A\(proxy.port)")
        #expect(proxied != text, "the endpoint is not in lake.json as expected: \(text)")
        try proxied.write(toFile: config, atomically: true, encoding: .utf8)
    }

    /// How many objects the shared catalog holds PENDING_UPLOAD (-1 when it cannot tell).
    func pendingUploads(_ catalog: String) throws -> () -> Int64 {
        let db = try postgres.connect(catalog)
        return { (try? db.run("SELECT count(*) FROM objects WHERE status = 'PENDING_UPLOAD'")[0].int64(0)) ?? -1 }
    }

    /// An upload in flight on one node (the bucket's reply held by a proxy, its row
    /// PENDING_UPLOAD) while the other node, on the same machine, runs recovery (`lake process`
    /// starts with it): the upload is not reaped as interrupted — its spool is the first node's,
    /// not the second's — and completes once the bucket answers.
    @Test func anUploadInFlightOnOneNodeIsNotReapedByTheOther() throws {
        let server = try SeaweedS3()
        let (a, b, env, catalog) = try twoNodes(server, bucket: "lake-inflight")
        let proxy = try CuttingProxy(to: server.port, after: 0, cuts: 1, holding: true)
        defer { proxy.stop() }
        try route(a, from: server, through: proxy)
        let source = a.directory.writeRandom("inflight.bin", size: 2 << 20, seed: 5)
        nonisolated(unsafe) var result: LakeBinary.Result?
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            result = try? a.run(["upload", source, "--json"], environment: env)
            done.signal()
        }
        let pending = try pendingUploads(catalog)
        #expect(eventually(60) { proxy.cutsMade() == 1 && pending() == 1 }, "the upload never stalled with its row written")
        let processed = try b.run(["process"], environment: env)
        #expect(processed.succeeded, "\(processed.stderr)")
        #expect(pending() == 1, "node B reaped node A's upload in flight")
        proxy.release()
        done.wait()
        let uploaded = try a.json(try #require(result))
        let id = try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(uploaded)")
        #expect(try b.run(["wait", id, "--timeout", "120"], environment: env).stdout.hasPrefix("READY"))
    }

    /// The other side: node A's upload killed (SIGKILL) while held mid-way leaves its row
    /// PENDING_UPLOAD and its spool files in A's cache; node B, on the same machine, leaves it
    /// alone; A's own next command reaps it.
    @Test func anUploadKilledOnOneNodeIsReapedByThatNodeAlone() throws {
        let server = try SeaweedS3()
        let (a, b, env, catalog) = try twoNodes(server, bucket: "lake-killed")
        let proxy = try CuttingProxy(to: server.port, after: 0, cuts: 1, holding: true)
        defer { proxy.stop() }
        try route(a, from: server, through: proxy)
        let source = a.directory.writeRandom("killed-upload.bin", size: 2 << 20, seed: 6)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            _ = try? a.run(["upload", source, "--json"], environment: env)
            done.signal()
        }
        let pending = try pendingUploads(catalog)
        #expect(eventually(60) { proxy.cutsMade() == 1 && pending() == 1 }, "the upload never stalled with its row written")
        _ = try Shell.run("pkill -9 -f '[l]ake upload \(source)'")
        done.wait()
        #expect(try b.run(["process"], environment: env).succeeded)
        #expect(pending() == 1, "node B reaped an upload of node A's spool")
        proxy.release()
        #expect(try a.run(["process"], environment: env).succeeded)
        #expect(pending() == 0, "node A did not reap its own killed upload")
    }

    /// The same bytes uploaded on both nodes at once: two objects, one blob (one key in the
    /// bucket, one row), both READY, both reading the bytes.
    @Test func theSameBytesUploadedOnBothNodesAtOnceAreOneBlob() throws {
        let server = try SeaweedS3()
        let (a, b, env, catalog) = try twoNodes(server, bucket: "lake-same")
        let bytes = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let sourceA = a.directory.write("same.bin", bytes), sourceB = b.directory.write("same.bin", bytes)
        nonisolated(unsafe) var results: [LakeBinary.Result?] = [nil, nil]
        let group = DispatchGroup()
        for (index, (node, source)) in [(a, sourceA), (b, sourceB)].enumerated() {
            DispatchQueue.global().async(group: group) {
                results[index] = try? node.run(["upload", source, "--json"], environment: env)
            }
        }
        group.wait()
        let ids = try results.map { result in
            let uploaded = try a.json(try #require(result))
            return try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(uploaded)")
        }
        #expect(Set(ids).count == 2)
        let client = try S3Location(url: "s3://lake-same/prod?endpoint=\(server.endpoint)&region=us-east-1").client(environment: server.credentials)
        #expect(try client.list(prefix: "prod/blobs/").count == 1)
        let db = try postgres.connect(catalog)
        #expect(try db.run("SELECT count(*) FROM blobs")[0].int64(0) == 1)
        for (node, id) in zip([b, a], ids) {
            #expect(try node.run(["wait", id, "--timeout", "120"], environment: env).stdout.hasPrefix("READY"))
            #expect(try node.run(["object", "get", id, "-o", node.directory.file("back.bin")], environment: env).succeeded)
            #expect(try Data(contentsOf: URL(fileURLWithPath: node.directory.file("back.bin"))) == bytes)
        }
    }

    /// A node's daemon killed (SIGKILL: no clean unmount to remove its session) stops renewing
    /// its session; within the stale limit plus a heartbeat, the other node's daemon removes it
    /// and `lake status` lists the living only. Reading a blob this node never cached, with the
    /// bucket stopped, fails with an error: no bytes that are not the file's.
    @Test func aDeadNodesSessionGoesAndAColdReadWithoutTheBucketFails() throws {
        let server = try SeaweedS3()
        let (a, b, env, _) = try twoNodes(server, bucket: "lake-dead")
        let (mountA, mountB) = (a.directory.file("mnt"), b.directory.file("mnt"))
        defer {
            for mountpoint in [mountA, mountB] {
                _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mountpoint) ' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
            }
        }
        for (node, mountpoint) in [(a, mountA), (b, mountB)] {
            try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
            #expect(try node.run(["mount", mountpoint], environment: env).succeeded)
        }
        func mountpoints() -> Set<String> {
            let status = (try? b.json(try b.run(["status", "--json"], environment: env))) ?? [:]
            return Set(((status["nodes"] as? [[String: Any]]) ?? []).compactMap { $0["mountpoint"] as? String })
        }
        #expect(eventually(30) { mountpoints() == [mountA, mountB] })
        let source = a.directory.writeRandom("cold.bin", size: 500_000, seed: 8)
        #expect(try Shell.run("cp '\(source)' '\(mountA)/incoming/'").status == 0)
        let id = try Shell.run("getfattr --absolute-names --only-values -n user.lake.id '\(mountA)/incoming/cold.bin'").output
            .trimmingCharacters(in: .whitespacesAndNewlines)

        _ = try Shell.run("pkill -9 -f '[l]ake mount \(mountA) '")
        _ = try Shell.run("fusermount3 -uz '\(mountA)'")
        #expect(eventually(90) { mountpoints() == [mountB] }, "\(mountpoints())")

        // Either node's daemon may have processed it (and so cached it): processed, B's copy goes.
        #expect(try b.run(["wait", id, "--timeout", "120"], environment: env).stdout.hasPrefix("READY"))
        let sha = try Shell.sha256(source)
        _ = try Shell.run("rm -f '\(b.store)/cache/blobs/\(sha.prefix(2))/\(sha)'")
        server.stop()
        #expect(eventually(30) { FileManager.default.fileExists(atPath: "\(mountB)/objects/\(id)/cold.bin") })
        let read = try Shell.run("cat '\(mountB)/objects/\(id)/cold.bin' > '\(b.directory.file("partial.bin"))'")
        #expect(read.status != 0, "a file B never cached was read with the bucket stopped")
        let got = (try? Data(contentsOf: URL(fileURLWithPath: b.directory.file("partial.bin")))) ?? Data()
        let original = try Data(contentsOf: URL(fileURLWithPath: source))
        #expect(got.isEmpty || original.starts(with: got), "bytes that are not the file's were served")
    }
}
