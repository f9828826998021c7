import Foundation
import LakeSystem
import LakeTestSupport
import Testing

@Suite(.serialized) struct CrashAndConcurrencyTests {
    /// Starts `lake` without waiting for it.
    func start(_ lake: LakeBinary, _ arguments: [String]) throws -> ChildProcess {
        try ChildProcess(LakeBinary.executable, arguments + ["--store", lake.store], output: .null, errors: .null)
    }

    @Test func killedUploadsLeaveARecoverableStore() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let big = lake.directory.writeRandom("big.bin", size: 256 << 20, seed: 7)
        var generator = SystemRandomNumberGenerator()
        var killedWhileRunning = 0
        // A whole upload of this file can take under half a second here: kill early, and keep
        // going until a few kills landed while the upload ran.
        for _ in 0..<20 where killedWhileRunning < 4 {
            let upload = try start(lake, ["upload", big])
            usleep(UInt32.random(in: 10_000...250_000, using: &generator))
            if upload.isRunning { killedWhileRunning += 1 }
            upload.send(SIGKILL)
            upload.wait()
        }
        #expect(killedWhileRunning > 0, "every upload finished before it could be killed; the test proved nothing")

        // No READY object without its bytes, no corrupt blob.
        let verify = try lake.json(try lake.run(["verify", "--json"]))
        #expect((verify["missing"] as? [Any])?.isEmpty == true, "\(verify)")
        #expect((verify["corrupt"] as? [Any])?.isEmpty == true, "\(verify)")
        let listed = try lake.json(try lake.run(["object", "ls", "--json"]))
        for object in listed["objects"] as! [[String: Any]] where object["status"] as? String == "READY" {
            #expect(((object["file"] as? [String: Any])?["blob"] as? [String: Any]) != nil)
        }
        // gc clears the leftovers; a new upload of the same file works.
        #expect(try lake.run(["gc"]).succeeded)
        let again = try lake.run(["upload", big, "--json"])
        #expect(again.succeeded, "\(again.stderr)")
        let object = try #require((try lake.json(again)["succeeded"] as? [[String: Any]])?.first)
        #expect(object["status"] as? String == "READY")
        let hash = ((object["file"] as! [String: Any])["blob"] as! [String: Any])["id"] as! String
        #expect(hash == String(try Command.output("/usr/bin/sha256sum", [big]).prefix(64)))
        let after = try lake.run(["verify"])
        #expect(after.succeeded, "\(after.stdout)")
    }

    @Test func severalProcessesShareOneStore() throws {
        let lake = LakeBinary()
        try lake.initStore()
        var files: [[String]] = [[], [], []]
        for i in 0..<30 {
            files[i % 3].append(lake.directory.write("f\(i).stl", Fixtures.asciiSTL(triangles: i + 1)))
        }
        let uploads = try files.map { try start(lake, ["upload", "--geometry-units", "m"] + $0) }
        let reader = try start(lake, ["object", "ls"])
        for process in uploads + [reader] { process.wait() }
        #expect(uploads.allSatisfy { $0.wait().status == 0 })
        let listed = try lake.json(try lake.run(["object", "ls", "--json", "--limit", "100"]))
        let objects = listed["objects"] as! [[String: Any]]
        #expect(objects.count == 30)
        #expect(objects.allSatisfy { $0["status"] as? String == "READY" })
        let triangles = objects.compactMap { (($0["provisions"] as? [[String: Any]])?.first?["geometry"] as? [String: Any])?["triangle_count"] as? Int }
        #expect(triangles.sorted() == Array(1...30))
        #expect(try lake.run(["verify"]).succeeded)
    }
}
