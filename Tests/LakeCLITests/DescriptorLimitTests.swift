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

    /// A manifest holds each of its blocks open while its pooled statistics are computed. A VTM of
    /// 3,000 blocks (VTK's writer) failed under the soft limit of 1,024 that shells and systemd
    /// give, its reason "the stored bytes could not be read (… Too many open files); run `lake
    /// verify`" — no byte was damaged. Every command now raises its soft limit to the hard one;
    /// under a hard limit too low, the reason says so and what to do.
    @Test func aManifestOfMoreBlocksThanTheSoftLimitIsProcessed() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let manifest = try Self.writeManifest(blocks: 300, into: lake.directory)
        let command = "'\(LakeBinary.executable)' upload '\(manifest)' --no-wait --store '\(lake.store)' > /dev/null && "
            + "'\(LakeBinary.executable)' process --store '\(lake.store)' 2>&1"
        let vtm = { () throws -> [String: Any] in
            let listed = try lake.json(try lake.run(["object", "ls", "--json", "--format", "vtm"]))
            return try #require((listed["objects"] as? [[String: Any]])?.first)
        }
        // A soft limit below the blocks, the hard one above: raised, processed.
        let soft = try Shell.run("ulimit -Sn 128 && " + command)
        #expect(soft.status == 0, "\(soft.output)")
        let processed = try vtm()
        #expect(processed["status"] as? String == "READY", "\(processed["failure_reason"] ?? "")")
        let field = ((processed["provisions"] as? [[String: Any]])?.first?["field"] as? [String: Any]) ?? [:]
        #expect((field["magnitude_stats"] as? [String: Any])?["max"] as? Double == 299)
        // A hard limit below the blocks: FAILED, saying why and what to do.
        let other = LakeBinary()
        try other.initStore()
        let hard = try Shell.run("ulimit -Sn 128 && ulimit -Hn 128 && " + command.replacingOccurrences(of: lake.store, with: other.store))
        #expect(hard.status == 0, "\(hard.output)")
        let listed = try other.json(try other.run(["object", "ls", "--json", "--format", "vtm"]))
        let failed = try #require((listed["objects"] as? [[String: Any]])?.first)
        #expect(failed["status"] as? String == "FAILED")
        let reason = failed["failure_reason"] as? String ?? ""
        #expect(reason.contains("limit is 128") && reason.contains("300 blocks") && !reason.contains("lake verify")
                && reason.contains("lake object reprocess \(failed["id"] as? String ?? "?")"), "\(reason)")
    }

    /// A VTM of `blocks` PolyData blocks of four points, block i's field `p` all i, written by VTK.
    static func writeManifest(blocks: Int, into directory: TemporaryDirectory) throws -> String {
        let manifest = directory.file("run.vtm")
        _ = try Command.output("/usr/bin/env", ["python3", "-c", #"""
            import sys, numpy as np, vtk
            from vtk.util import numpy_support as ns
            blocks = vtk.vtkMultiBlockDataSet()
            for i in range(int(sys.argv[2])):
                data = vtk.vtkPolyData(); points = vtk.vtkPoints()
                points.SetData(ns.numpy_to_vtk(np.full((4, 3), i, np.float32), deep=True)); data.SetPoints(points)
                p = ns.numpy_to_vtk(np.full(4, i, np.float32), deep=True); p.SetName("p"); data.GetPointData().AddArray(p)
                blocks.SetBlock(i, data)
            writer = vtk.vtkXMLMultiBlockDataWriter(); writer.SetFileName(sys.argv[1]); writer.SetInputData(blocks)
            assert writer.Write() == 1
            """#, manifest, String(blocks)])
        return manifest
    }
}
