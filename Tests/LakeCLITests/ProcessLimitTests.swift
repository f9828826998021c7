#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LakeSystem
import LakeTestSupport
import Testing

/// An account or a service at its process limit (`ulimit -u`, a cgroup's `pids.max`, systemd's
/// TasksMax) cannot start threads. Lake's own threads said nothing when they could not start
/// (Foundation's `Thread.start()`), and whoever waited for one waited for ever: `lake upload`
/// hung, and stayed hung after the limit was lifted. Now each does its work on the caller's
/// thread. (Dispatch, which GRDB uses, retries a thread it cannot make until it can; so the
/// process ends only once the limit is lifted, but the upload's work is done before.)
@Suite(.serialized) struct ProcessLimitTests {
    static let pids = "/sys/fs/cgroup/pids"
    /// A cgroup v1 pids hierarchy root may write (this machine's, and CI's), on the embedded
    /// store (on a cluster store the blob goes to S3, which the wait below does not look at).
    static let available = getuid() == 0 && FileManager.default.isWritableFile(atPath: pids) && !ClusterStores.isOn

    static let writer = #"""
        import sys
        import numpy as np
        import vtk
        from vtk.util import numpy_support as ns
        n = 600_000                 # 7 MB of points, 9.6 MB of two Float64 fields: every thread Lake starts
        rng = np.random.default_rng(5)
        grid = vtk.vtkUnstructuredGrid()
        points = vtk.vtkPoints()
        points.SetData(ns.numpy_to_vtk(rng.normal(0, 10, (n, 3)).astype(np.float32), deep=True))
        grid.SetPoints(points)
        for name in ("p", "t"):
            field = ns.numpy_to_vtk(rng.normal(5, 2, n), deep=True)
            field.SetName(name)
            grid.GetPointData().AddArray(field)
        writer = vtk.vtkXMLUnstructuredGridWriter()
        writer.SetFileName(sys.argv[1])
        writer.SetInputData(grid)
        writer.SetDataModeToAppended()
        writer.EncodeAppendedDataOff()
        writer.SetCompressorTypeToZLib()
        assert writer.Write() == 1
        """#

    func write(_ path: String, _ text: String) -> Bool {
        (try? text.write(toFile: path, atomically: false, encoding: .utf8)) != nil
    }

    /// How many times the group refused a new task ("max N" in pids.events).
    func refusals(_ group: String) -> Int {
        let events = (try? String(contentsOfFile: group + "/pids.events", encoding: .utf8)) ?? ""
        return events.split(separator: "\n").first { $0.hasPrefix("max ") }.flatMap { Int($0.dropFirst(4)) } ?? 0
    }

    @Test(.enabled(if: available, "needs root and a writable cgroup v1 pids hierarchy"))
    func anUploadWithNoThreadToBeHadIsProcessedOnItsOwnThread() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let file = lake.directory.file("limited.vtu")
        _ = try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, file])
        let group = Self.pids + "/lake-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        #expect(mkdir(group, 0o755) == 0)
        // The group holds one task: the upload's own thread; no other can start in it.
        #expect(write(group + "/pids.max", "1"))
        let output = lake.directory.file("upload.json"), errors = lake.directory.file("upload.err")
        let upload = try ChildProcess("/bin/sh", ["-c", "echo $$ > '\(group)/cgroup.procs' && exec '\(LakeBinary.executable)' upload '\(file)' "
                                                  + "--store '\(lake.store)' --json > '\(output)' 2> '\(errors)'"])
        defer {
            if upload.isRunning { upload.send(SIGKILL) }
            _ = upload.wait()
            _ = write(group + "/pids.max", "max")
            rmdir(group)
        }
        // Processed while still limited: READY in the catalog (read from outside the group).
        let processed = eventually(120) {
            let listed = try? lake.run(["object", "ls", "--status", "READY", "--json"])
            return listed.map { $0.succeeded && $0.stdout.contains("limited.vtu") } ?? false
        }
        let refused = refusals(group)
        let said = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(processed, "not processed under the limit (\(refused) threads refused): \(said)")
        #expect(refused > 0, "the limit never refused a thread: the test proves nothing")
        #expect(said.contains("cannot start a thread (lake-lease)"), "\(said)")
        // Lifted: Dispatch gets its thread, and the command ends and reports.
        #expect(write(group + "/pids.max", "max"))
        let stopped = eventually(120) { !upload.isRunning }
        #expect(stopped, "the upload did not end once the limit was lifted")
        if !stopped { upload.send(SIGKILL) }
        let ended = upload.wait()
        #expect(ended.status == 0 && !ended.signaled, "\(ended)")
        let limited = try lake.json(LakeBinary.Result(status: 0, stdout: (try? String(contentsOfFile: output, encoding: .utf8)) ?? "", stderr: ""))
        let object = try #require((limited["succeeded"] as? [[String: Any]])?.first, "\(limited)")
        #expect(object["status"] as? String == "READY", "\(object["failure_reason"] ?? "")")

        // The same file uploaded with threads gives the same statistics and mesh.
        let free = LakeBinary()
        try free.initStore()
        let reference = try #require((try free.json(try free.run(["upload", file, "--json"])))["succeeded"] as? [[String: Any]]).first ?? [:]
        for key in ["provisions", "mesh"] {
            let mine = try JSONSerialization.data(withJSONObject: object[key] ?? NSNull(), options: [.sortedKeys])
            let theirs = try JSONSerialization.data(withJSONObject: reference[key] ?? NSNull(), options: [.sortedKeys])
            #expect(mine == theirs, "\(key) differs from the upload that had threads")
        }
    }

    /// The mount daemon at its limit (a service's TasksMax reached by its own threads): a copy into
    /// `incoming/` is stored and processed. Before, the blob writer's thread never ran, `cp`
    /// waited in the kernel for an answer (state D) and went on waiting after the limit was lifted.
    @Test(.enabled(if: available, "needs root and a writable cgroup v1 pids hierarchy"))
    func aMountAtItsProcessLimitStoresAndProcessesACopy() throws {
        let mounted = try MountedLake()
        let file = mounted.lake.directory.file("copied.vtu")
        _ = try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, file])
        let daemon = try Shell.run("pgrep -f '[l]ake mount \(mounted.mountpoint) '").output.split(separator: "\n").first.map(String.init) ?? ""
        let group = Self.pids + "/lake-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        #expect(mkdir(group, 0o755) == 0)
        #expect(write(group + "/cgroup.procs", daemon))
        // No new thread from here: the daemon's own are all it has.
        let current = ((try? String(contentsOfFile: group + "/pids.current", encoding: .utf8)) ?? "1").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(write(group + "/pids.max", current))
        defer {
            _ = write(group + "/pids.max", "max")
            // Ended rather than unmounted: a daemon that stopped answering would keep `lake
            // unmount` waiting in the kernel for ever.
            _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mounted.mountpoint) '; fusermount3 -uz '\(mounted.mountpoint)' 2>/dev/null; true")
            _ = eventually(60) { rmdir(group) == 0 }
        }
        let copy = try ChildProcess("/bin/cp", [file, mounted.path("incoming/")])
        let copied = eventually(120) { !copy.isRunning }
        if !copied {
            // A copy waiting for the daemon's answer ends only with the daemon.
            _ = try Shell.run("pkill -9 -f '[l]ake mount \(mounted.mountpoint) '")
        }
        let ended = copy.wait()
        #expect(copied && ended.status == 0, "the copy never ended at the daemon's process limit (\(ended))")
        let ready = mounted.eventually(120) { (try? mounted.xattr("incoming/copied.vtu", "user.lake.status")) == "READY" }
        #expect(ready, "\((try? mounted.xattr("incoming/copied.vtu", "user.lake.failure_reason")) ?? "")")
        #expect(refusals(group) > 0, "the limit never refused a thread: the test proves nothing")
        #expect(try Shell.sha256(mounted.path("incoming/copied.vtu")) == Shell.sha256(file))
    }

    /// A daemon started at the limit cannot start its services (the settler, the blob releaser…):
    /// it says so and leaves nothing mounted. Before, their threads silently never ran, and the
    /// mount served without them.
    @Test(.enabled(if: available, "needs root and a writable cgroup v1 pids hierarchy"))
    func aMountThatCannotStartItsServicesSaysSoAndLeavesNothingMounted() throws {
        let mounted = try MountedLake(mount: false)
        let group = Self.pids + "/lake-test-\(getpid())-\(UUID().uuidString.prefix(8))"
        #expect(mkdir(group, 0o755) == 0)
        #expect(write(group + "/pids.max", "8"))
        defer {
            _ = write(group + "/pids.max", "max")
            // A daemon that mounted anyway may not answer: `lake unmount` would wait on it in the
            // kernel for ever. Ended first, its mount goes lazily.
            _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mounted.mountpoint) '; fusermount3 -uz '\(mounted.mountpoint)' 2>/dev/null; true")
            _ = eventually(60) { rmdir(group) == 0 }
        }
        let errors = mounted.lake.directory.file("mount.err")
        let mount = try ChildProcess("/bin/sh", ["-c", "echo $$ > '\(group)/cgroup.procs' && exec '\(LakeBinary.executable)' mount "
                                                 + "'\(mounted.mountpoint)' --store '\(mounted.store)' 2> '\(errors)'"])
        let returned = eventually(120) { !mount.isRunning }
        if !returned { mount.send(SIGKILL) }
        let ended = mount.wait()
        let said = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
        #expect(returned && ended.status == 1, "\(ended): \(said)")
        #expect(said.contains("cannot start a thread") && said.contains("pids.max"), "\(said)")
        #expect(refusals(group) > 0)
        let mounts = try String(contentsOfFile: "/proc/mounts", encoding: .utf8)
        #expect(!mounts.contains(" \(mounted.mountpoint) "), "left mounted")
        // Nothing of the daemon is left running in the group.
        #expect(eventually(60) { ((try? String(contentsOfFile: group + "/cgroup.procs", encoding: .utf8)) ?? "x").isEmpty })
    }
}
