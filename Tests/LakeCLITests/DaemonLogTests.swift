import Foundation
import LakeTestSupport
import Testing

/// A daemon left running for weeks writes its log into the store's folder: nothing a reader does
/// may make that log grow without bound and fill the disk the store is on.
@Suite struct DaemonLogTests {
    /// A loader retrying a damaged file in a loop is answered EIO each time; the log says so once
    /// and then how many times it repeated, not once per read.
    @Test func aStormOfFailedReadsDoesNotFloodTheLog() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let source = lake.directory.writeRandom("storm.bin", size: 100_000, seed: 61)
        let upload = try lake.json(try lake.run(["upload", source, "--json"]))
        let object = try #require((upload["succeeded"] as? [[String: Any]])?.first)
        let id = try #require(object["id"] as? String)
        let sha = try #require(((object["file"] as? [String: Any])?["blob"] as? [String: Any])?["id"] as? String)
        try flipByte(BlobFiles.path(store: mounted.store, id: sha), at: 50_000)
        _ = try lake.run(["verify"])
        let file = mounted.path("objects/\(id)/file")
        #expect(mounted.eventually(30) { (try? Shell.run("cat '\(file)' > /dev/null 2>&1").status) ?? 0 != 0 })

        let log = mounted.store + "/logs/mount.log"
        let before = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").count
        let storm = try Shell.run("""
            python3 -c '
            import sys
            failed = 0
            for _ in range(5000):
                try:
                    open(sys.argv[1], "rb").read()
                except OSError:
                    failed += 1
            print(failed)' '\(file)'
            """)
        #expect(storm.output.trimmingCharacters(in: .whitespacesAndNewlines) == "5000", "\(storm.output)")
        // A line from another part of the daemon ends the run of repeats (the log says how many).
        _ = try lake.run(["unmount", mounted.mountpoint], store: false)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count - before < 100, "\(lines.count - before) lines for 5,000 failed reads:\n\(lines.suffix(5).joined(separator: "\n"))")
        #expect(lines.contains { $0.contains("repeated") }, "\(lines.suffix(10).joined(separator: "\n"))")
    }
}
