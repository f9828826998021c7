import Foundation
import LakeTestSupport
import Testing

/// `lake wait` instead of polling xattrs, and `lake status` to see the store and its queue.
@Suite struct StatusAndWaitTests {
    @Test func waitReturnsWhenProcessedAndSaysHowItEnded() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let good = lake.directory.write("good.stl", Fixtures.asciiSTL(triangles: 3))
        let bad = lake.directory.write("bad.vtu", "<VTKFile type=\"UnstructuredGrid\"><broken")
        let uploaded = try lake.run(["upload", "--no-wait", "--geometry-units", "m", good, bad, "--json"])
        let objects = try #require(try lake.json(uploaded)["succeeded"] as? [[String: Any]], "\(uploaded.stderr)")
        let (goodID, badID) = (objects[0]["id"] as! String, objects[1]["id"] as! String)
        #expect(objects.allSatisfy { $0["status"] as? String == "UPLOADED" })

        // No daemon runs: waiting processes them here.
        let ready = try lake.run(["wait", goodID])
        #expect(ready.status == 0 && ready.stdout.hasPrefix("READY"), "\(ready.stdout)\(ready.stderr)")
        // A zero timeout still reports what is settled already.
        let atOnce = try lake.run(["wait", goodID, "--timeout", "0"])
        #expect(atOnce.status == 0 && atOnce.stdout.hasPrefix("READY"), "\(atOnce.stdout)\(atOnce.stderr)")
        let failed = try lake.run(["wait", goodID, badID, "--json"])
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        let statuses = (try lake.json(failed)["objects"] as? [[String: Any]])?.compactMap { $0["status"] as? String }
        #expect(statuses == ["READY", "FAILED"])

        let unknown = try lake.run(["wait", "obj-01m8qmwbr86qevdatk1mt3q2th"])
        #expect(unknown.status == 1 && unknown.stderr.contains("obj-01m8qmwbr86qevdatk1mt3q2th"), "\(unknown.stderr)")
        let malformed = try lake.run(["wait", "nonsense"])
        #expect(malformed.status == 64)
    }

    /// A manifest copied into incoming/ without its blocks waits for them (up to 600 s): `lake
    /// wait --timeout` gives up with 124, and `lake status` says what waits and why.
    @Test func statusShowsTheQueueAndWaitTimesOut() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let folder = lake.directory.file("case")
        let manifest = try Fixtures.copyRunManifest(into: folder)
        #expect(try Shell.run("cp '\(manifest)' '\(mounted.path("incoming/"))'").status == 0)
        let vtm = try mounted.xattr("incoming/run.vtm", "user.lake.id")

        // What it waits for is in its xattrs and JSON (object_id null: not arrived yet).
        #expect(try mounted.xattr("incoming/run.vtm", "user.lake.awaiting_blocks") == #"["run/run_0.vtu","run/run_1.vtu"]"#)
        #expect(try mounted.xattr("objects/\(vtm)", "user.lake.awaiting_blocks") == #"["run/run_0.vtu","run/run_1.vtu"]"#)
        let waiting = try lake.json(try lake.run(["object", "show", vtm, "--json"]))
        let references = try #require(waiting["content_references"] as? [[String: Any]])
        #expect(references.count == 2 && references.allSatisfy { $0.keys.contains("object_id") && $0["object_id"] is NSNull }, "\(references)")

        let waited = try lake.run(["wait", vtm, "--timeout", "1"])
        #expect(waited.status == 124 && waited.stdout.contains("WAITING") && waited.stdout.contains(vtm), "\(waited.stdout)\(waited.stderr)")

        let status = try lake.json(try lake.run(["status", "--json"]))
        #expect(status["store"] as? String == lake.store && status["store_chosen_by"] as? String == "--store")
        let queue = try #require(status["queue"] as? [String: Any])
        #expect(queue["depth"] as? Int == 1)
        let oldest = try #require(queue["oldest"] as? [String: Any], "\(queue)")
        #expect(oldest["id"] as? String == vtm)
        #expect((oldest["why"] as? String)?.contains("waiting for blocks") == true, "\(oldest)")
        #expect((status["objects"] as? [String: Any])?["UPLOADED"] as? Int == 1)
        let mounts = try #require(status["mounts"] as? [[String: Any]])
        #expect(mounts.contains { $0["mountpoint"] as? String == mounted.mountpoint && $0["mounted"] as? Bool == true
                                  && $0["read_only"] as? Bool == false }, "\(mounts)")
        #expect(((status["blobs"] as? [String: Any])?["count"] as? Int ?? 0) >= 1)
        #expect(((status["disk"] as? [String: Any])?["free_bytes"] as? Int ?? 0) > 0)

        // The blocks arrive: the manifest is processed and waiting ends with 0.
        #expect(try Shell.run("cp -r '\(folder)/run' '\(mounted.path("incoming/"))'").status == 0)
        let done = try lake.run(["wait", vtm, "--timeout", "120"])
        #expect(done.status == 0 && done.stdout.hasPrefix("READY"), "\(done.stdout)\(done.stderr)")
        #expect(mounted.eventually(30) { (try? mounted.xattr("objects/\(vtm)", "user.lake.awaiting_blocks"))?.contains("No such attribute") == true })
        let text = try lake.run(["status"])
        #expect(text.succeeded && text.stdout.contains("Queue     empty") && text.stdout.contains("Mount     \(mounted.mountpoint)"), "\(text.stdout)")
    }
}
