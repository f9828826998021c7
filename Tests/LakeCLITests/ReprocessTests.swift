import Foundation
import LakeTestSupport
import Testing

/// `lake object reprocess`: a failure that was the machine's, not the file's, is not for ever.
/// A VTM of 300 blocks processed under a hard limit of 128 descriptors FAILED (nothing wrong with
/// it) and a case of it went INVALID; once the limit is right, the object is processed again in
/// place — same id, same bytes — and the mount, which had cached the FAILED object and the
/// INVALID case as settled, shows both READY.
@Suite struct ReprocessTests {
    @Test(.disabled(if: ClusterStores.isOn, "the hard descriptor limit is set on this machine's lake process"))
    func anObjectThatFailedForWantOfDescriptorsIsProcessedAgainAndTheMountSeesIt() throws {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let manifest = try DescriptorLimitTests.writeManifest(blocks: 300, into: lake.directory)
        let uploaded = try lake.run(["upload", manifest, "--no-wait", "--json"])
        let id = try #require((try lake.json(uploaded)["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(uploaded.stderr)")
        let starved = try Shell.run("ulimit -Sn 128 && ulimit -Hn 128 && '\(LakeBinary.executable)' process --store '\(lake.store)' 2>&1")
        #expect(starved.status == 0, "\(starved.output)")
        let failed = try lake.json(try lake.run(["object", "show", id, "--json"]))
        #expect(failed["status"] as? String == "FAILED")
        #expect((failed["failure_reason"] as? String ?? "").contains("lake object reprocess \(id)"), "\(failed["failure_reason"] ?? "")")
        let made = try lake.run(["case", "create", "--name", "run", "--object", id, "--json"])
        let caseID = try #require(try lake.json(made)["id"] as? String, "\(made.stderr)")
        #expect(try lake.json(made)["status"] as? String == "INVALID")

        try mounted.mount()
        let file = "objects/\(id)/file"
        #expect(try mounted.xattr(file, "user.lake.status") == "FAILED")
        let caseJSON = mounted.path("cases/\(caseID)/case.json")
        #expect(try String(contentsOfFile: caseJSON, encoding: .utf8).contains("\"status\" : \"INVALID\""))

        let again = try lake.run(["object", "reprocess", id])
        #expect(again.succeeded, "\(again.stderr)")
        #expect(again.stdout.hasPrefix("READY") && again.stdout.contains(id), "\(again.stdout)")
        let ready = try lake.json(try lake.run(["object", "show", id, "--json"]))
        let field = ((ready["provisions"] as? [[String: Any]])?.first?["field"] as? [String: Any]) ?? [:]
        #expect((field["magnitude_stats"] as? [String: Any])?["max"] as? Double == 299)
        #expect(ready["failure_reason"] == nil || ready["failure_reason"] is NSNull)
        #expect(try lake.json(try lake.run(["case", "show", caseID, "--json"]))["status"] as? String == "READY")

        // The mount had both cached as settled; the change reaches it.
        #expect(try mounted.eventually { try mounted.xattr(file, "user.lake.status") == "READY" })
        #expect(try mounted.eventually { try String(contentsOfFile: caseJSON, encoding: .utf8).contains("\"status\" : \"READY\"") })
        let shown = try String(contentsOfFile: mounted.path("objects/\(id)/object.json"), encoding: .utf8)
        #expect(shown.contains("\"status\" : \"READY\"") && shown.contains("\"magnitude_stats\""))
        let log = try lake.run(["log", "--object", id])
        #expect(log.stdout.contains("object.reprocess"), "\(log.stdout)")
    }

    /// Only FAILED objects, all or none; a file that is malformed fails again with its reason;
    /// another account may not reprocess what is not its own.
    @Test func onlyFailedObjectsAndOnlyTheirOwner() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let broken = lake.directory.write("broken.vtu", "<VTKFile type=\"UnstructuredGrid\"><Unstructured")
        let part = lake.directory.write("part.stl", Fixtures.asciiSTL())
        let uploaded = try lake.json(try lake.run(["upload", broken, part, "--json"]))
        let objects = try #require(uploaded["succeeded"] as? [[String: Any]])
        let failed = try #require(objects.first { $0["status"] as? String == "FAILED" }?["id"] as? String)
        let ready = try #require(objects.first { $0["status"] as? String == "READY" }?["id"] as? String)

        let refused = try lake.run(["object", "reprocess", failed, ready])
        #expect(!refused.succeeded && refused.stderr.contains("\(ready) is READY; only a FAILED object is processed again"), "\(refused.stderr)")
        #expect(try lake.json(try lake.run(["object", "show", failed, "--json"]))["status"] as? String == "FAILED", "all or none")

        let queued = try lake.run(["object", "reprocess", failed, "--no-wait"])
        #expect(queued.succeeded && queued.stdout.hasPrefix("UPLOADED"), "\(queued.stdout) \(queued.stderr)")
        let waited = try lake.run(["wait", failed])
        #expect(waited.status == 1 && waited.stdout.hasPrefix("FAILED"), "the file itself is malformed: \(waited.stdout)")
        let again = try lake.run(["object", "reprocess", failed, "--json"])
        #expect(again.status == 1 && again.stderr.contains("processing failed again"), "\(again.stderr)")
        #expect(((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [[String: Any]])?.first?["status"] as? String) == "FAILED")

        // Another account, through the daemon's session: refused, the object unchanged.
        let alice = try Account.make("lakeprobe1")
        _ = try Shell.run("chmod 755 '\(lake.directory.path)'")
        let hers = try alice.run("cd / && \(LakeBinary.executable) object reprocess \(failed) --store '\(mounted.store)'")
        #expect(hers.status != 0 && hers.output.contains("permission denied"), "\(hers.output)")
        #expect(try lake.json(try lake.run(["object", "show", failed, "--json"]))["status"] as? String == "FAILED")
    }

    /// A damaged byte: a FAILED object's bytes damaged while it waited are re-hashed before it is
    /// queued again and refused (the damage recorded), and a worker never processes bytes
    /// recorded as damaged (`lake verify` found them) into a READY object's statistics.
    @Test(.disabled(if: ClusterStores.isOn, "flips a byte in the blob file on this machine"))
    func damagedBytesAreNeverProcessed() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let blobFile = { (source: String) throws -> String in
            let sha = try Shell.sha256(source)
            return try #require(try Shell.run("find '\(lake.store)/blobs' -type f -name '\(sha)*'").output
                .split(separator: "\n").first.map(String.init), "no blob file for \(sha)")
        }
        let broken = lake.directory.write("broken.vtu", "<VTKFile type=\"UnstructuredGrid\"><Unstructured, some bytes to damage")
        let failed = try #require((try lake.json(try lake.run(["upload", broken, "--json"]))["succeeded"] as? [[String: Any]])?.first?["id"] as? String)
        try flipByte(try blobFile(broken), at: 20)
        let refused = try lake.run(["object", "reprocess", failed])
        #expect(!refused.succeeded && refused.stderr.contains("stored bytes are damaged"), "\(refused.stderr)")
        let shown = try lake.json(try lake.run(["object", "show", failed, "--json"]))
        #expect(shown["status"] as? String == "FAILED")
        #expect(((shown["file"] as? [String: Any])?["blob"] as? [String: Any])?["damage"] is [String: Any], "the damage is recorded")

        let notes = lake.directory.write("notes.txt", "plain words that any processor takes as they are")
        let queued = try #require((try lake.json(try lake.run(["upload", notes, "--no-wait", "--json"]))["succeeded"] as? [[String: Any]])?.first?["id"] as? String)
        try flipByte(try blobFile(notes), at: 5)
        #expect(try lake.run(["verify"]).status == 1)
        _ = try lake.run(["process"])
        let processed = try lake.json(try lake.run(["object", "show", queued, "--json"]))
        #expect(processed["status"] as? String == "FAILED")
        #expect((processed["failure_reason"] as? String ?? "").contains("stored bytes are damaged"), "\(processed["failure_reason"] ?? "")")
    }
}
