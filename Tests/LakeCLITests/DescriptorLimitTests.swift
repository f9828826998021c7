import Foundation
import LakeTestSupport
import Testing

/// A daemon keeps descriptors of the blobs it serves between reads, bounded by what the process
/// may hold: under a low limit (a container's, an account's) a loader reading more files than
/// that is served every one of them, epoch after epoch, never EMFILE turned into EIO.
@Suite struct DescriptorLimitTests {
    @Test(arguments: [[], ["-o", "ro"], ["-o", "no_passthrough"], ["--dataset"]])
    func manyFilesAreServedUnderALowDescriptorLimit(how: [String]) throws {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let files = (0..<600).map { lake.directory.writeRandom("f\($0).bin", size: 4096, seed: UInt64(2 * $0 + 1)) }
        let upload = try lake.run(["upload"] + files + ["--json"])
        let ids = try #require((try lake.json(upload)["succeeded"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
        try #require(ids.count == files.count, "\(upload.stderr)")
        var paths = ids.map { mounted.path("objects/\($0)/file") }
        var mountArguments = how
        if how == ["--dataset"] {
            let made = try lake.run(["case", "create", "--name", "c", "--json"] + ids.flatMap { ["--object", $0] })
            let caseID = try #require(try lake.json(made)["id"] as? String, "\(made.stderr)")
            let set = try lake.run(["dataset", "create", "--name", "d", "--case", caseID, "--json"])
            let dataset = try #require(try lake.json(set)["id"] as? String, "\(set.stderr)")
            #expect(try lake.run(["dataset", "freeze", dataset]).succeeded)
            mountArguments = ["--dataset", dataset]
            paths = files.map { mounted.path("cases/\(caseID)/\(URL(fileURLWithPath: $0).lastPathComponent)/file") }
        }
        // 256 descriptors in all, as `ulimit -n 256` gives the daemon (it cannot raise it).
        let mount = try Shell.run("ulimit -Sn 256 && ulimit -Hn 256 && '\(LakeBinary.executable)' mount '\(mounted.mountpoint)' "
                                  + mountArguments.map { "'\($0)'" }.joined(separator: " ") + " --store '\(mounted.store)' 2>&1")
        #expect(mount.status == 0, "\(mount.output)")
        let list = lake.directory.write("paths", paths.joined(separator: "\n") + "\n")
        for epoch in 1...2 {
            let read = try Shell.run("failed=0; while read -r f; do cat \"$f\" > /dev/null 2>&1 || failed=$((failed + 1)); done < '\(list)'; echo $failed")
            #expect(read.output.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "epoch \(epoch): \(read.output) files failed")
        }
    }
}
