import Foundation
import LakeSystem
import LakeTestSupport
import Testing

@Suite struct MountTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vtk").path

    func uploadedID(_ lake: LakeBinary, _ path: String, _ extra: [String] = []) throws -> String {
        let result = try lake.run(["upload", path, "--json"] + extra)
        return (try lake.json(result)["succeeded"] as! [[String: Any]])[0]["id"] as! String
    }

    @Test func mountShowsTheTreeAndUnmountsCleanly() throws {
        let mounted = try MountedLake()
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.mountpoint).sorted() == ["cases", "datasets", "incoming", "objects"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.path("cases")).isEmpty)
        // Every folder lists `.` and `..`, as on any filesystem.
        #expect(try Shell.run("ls -a '\(mounted.mountpoint)'").output == ".\n..\ncases\ndatasets\nincoming\nobjects\n")
        #expect(try Shell.run("ls -a '\(mounted.path("incoming"))'").output == ".\n..\n")
        let unmount = try mounted.lake.run(["unmount", mounted.mountpoint], store: false)
        #expect(unmount.succeeded, "\(unmount.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.mountpoint).isEmpty)
        #expect(mounted.eventually(30) { (try? Shell.run("pgrep -f '[l]ake mount \(mounted.mountpoint) '").status) == 1 })
        #expect(FileManager.default.fileExists(atPath: mounted.store + "/logs/mount.log"))
    }

    @Test func mountRefusesBadMountpointsWithClearMessages() throws {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let missing = try lake.run(["mount", lake.directory.file("nowhere")])
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"))
        lake.directory.write("full/file.txt", "x")
        let full = try lake.run(["mount", lake.directory.file("full")])
        #expect(full.status == 1 && full.stderr.contains("is not empty"))
        let noStore = try lake.run(["mount", mounted.mountpoint, "--store", lake.directory.file("no-store")], store: false)
        #expect(noStore.status == 1 && noStore.stderr.contains("lake init"))
        try mounted.mount()
        let again = try lake.run(["mount", mounted.mountpoint])
        #expect(again.status == 1 && again.stderr.contains("already mounted"))
    }

    @Test func aKilledDaemonsDeadMountIsClearedByTheNextMount() throws {
        let mounted = try MountedLake()
        try Shell.run("pkill -9 -f '[l]ake mount \(mounted.mountpoint) '")
        #expect(try mounted.eventually(30) { try Shell.run("ls '\(mounted.mountpoint)' 2>&1").output.contains("Transport endpoint is not connected") })
        try mounted.mount()
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.mountpoint).contains("objects"))
    }

    /// A daemon signalled the moment `lake mount` has reported it ready (before it serves its
    /// first request) still takes its mount down: it was once killed by the signal instead,
    /// leaving a dead mount, when the signal came before the serving loop had begun; and one
    /// started by a parent that blocks SIGTERM (as the test runner does) never got it at all.
    @Test func aDaemonSignalledAsSoonAsItIsReadyTakesItsMountDown() throws {
        let mounted = try MountedLake(mount: false)
        let script = """
            for i in 1 2 3 4 5; do
              out=$('\(LakeBinary.executable)' mount --store '\(mounted.store)' '\(mounted.mountpoint)') || exit 2
              pid=$(echo "$out" | sed -n 's/.*daemon pid \\([0-9]*\\).*/\\1/p')
              kill -TERM "$pid"
              n=0; while kill -0 "$pid" 2>/dev/null && [ $n -lt 3000 ]; do sleep 0.02; n=$((n+1)); done
              if kill -0 "$pid" 2>/dev/null; then echo "daemon $pid ignored SIGTERM"; kill -9 "$pid"; exit 1; fi
              if grep -q ' \(mounted.mountpoint) ' /proc/mounts; then echo "left mounted in round $i"; exit 1; fi
            done
            """
        let result = try Shell.run(script)
        #expect(result.status == 0, "\(result.output)")
    }

    /// SIGTERM handled on a thread other than the one waiting in the serving loop (the kernel
    /// picks any thread that does not block it) still ends the daemon: libfuse's loop waits on a
    /// semaphore only a signal to that very thread interrupts, and such a daemon once ignored
    /// SIGTERM (`lake_fuse_loop_watched` now interrupts the wait once the session has ended).
    @Test func aSignalHandledOnAnotherThreadStillEndsTheDaemon() throws {
        let mounted = try MountedLake(mount: false)
        let out = try mounted.lake.run(["mount", mounted.mountpoint])
        #expect(out.succeeded, "\(out.stderr)")
        let pid = try #require(out.stdout.split(separator: "daemon pid ").last?.split(separator: ",").first.flatMap { Int32($0) })
        // The loop's thread waits in futex(2) (syscall 202 on x86_64) once it serves.
        #expect(mounted.eventually { ((try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/syscall", encoding: .utf8)) ?? "").hasPrefix("202 ") })
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").compactMap { Int32($0) }.filter { $0 != pid }
        let other = try #require(tasks.first { task in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            let blocked = status.split(separator: "\n").first { $0.hasPrefix("SigBlk:") }.map { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) ?? ~0 } ?? ~0
            return blocked & (1 << 14) == 0   // SIGTERM (15) not blocked there
        }, "no thread of the daemon accepts SIGTERM")
        let sent = try Shell.run("python3 -c 'import ctypes; print(ctypes.CDLL(None).syscall(234, \(pid), \(other), 15))'")
        #expect(sent.output == "0\n", "tgkill: \(sent.output)")
        #expect(mounted.eventually(30) { kill(pid, 0) != 0 }, "daemon \(pid) ignored SIGTERM handled on thread \(other)")
        #expect(mounted.eventually { !((try? String(contentsOfFile: "/proc/mounts", encoding: .utf8)) ?? "").contains(" \(mounted.mountpoint) ") })
    }

    /// "Device or resource busy" names who keeps the mount busy; the mount's log lines name the
    /// mount (several mounts of a store share one log).
    @Test func aBusyUnmountSaysWhoHoldsTheMount() throws {
        let mounted = try MountedLake()
        let holder = try ChildProcess("/bin/sh", ["-c", "cd '\(mounted.path("objects"))' && exec sleep 600"])
        defer { holder.send(SIGKILL); holder.wait() }
        #expect(mounted.eventually(30) { MountUsersProbe.cwd(of: holder.pid)?.hasPrefix(mounted.mountpoint) == true })
        let busy = try mounted.lake.run(["unmount", mounted.mountpoint], store: false)
        #expect(busy.status == 1, "\(busy.stderr)")
        #expect(busy.stderr.contains("in use by") && busy.stderr.contains("sleep (pid \(holder.pid)): working directory"),
                "\(busy.stderr)")
        holder.send(SIGKILL)
        holder.wait()
        let log = try String(contentsOfFile: mounted.store + "/logs/mount.log", encoding: .utf8)
        let lines = log.split(separator: "\n").filter { $0.contains(" info ") }
        #expect(!lines.isEmpty && lines.allSatisfy { $0.contains("mount=\(mounted.mountpoint)") }, "\(lines.prefix(3))")
        #expect(try mounted.lake.run(["unmount", mounted.mountpoint], store: false).succeeded)
    }

    /// An unknown id is reported with the store that was looked in and how it was chosen.
    @Test func notFoundNamesTheStoreItLookedIn() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let missing = "obj-01m8qmwbr86qevdatk1mt3q2th"
        let byOption = try lake.run(["object", "show", missing])
        #expect(byOption.status == 1 && byOption.stderr.contains("in the store at \(lake.store) (chosen by --store)"), "\(byOption.stderr)")
        let byEnvironment = try lake.run(["object", "show", missing], store: false, environment: ["LAKE_STORE": lake.store])
        #expect(byEnvironment.stderr.contains("in the store at \(lake.store) (chosen by $LAKE_STORE)"), "\(byEnvironment.stderr)")
    }

    @Test func objectsShowTheirBytesJSONAndManifestBlocks() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let folder = lake.directory.file("case")
        _ = try Fixtures.copyRunManifest(into: folder)
        let vtm = try uploadedID(lake, folder + "/run.vtm", ["--tag", "project=wing"])
        let base = "objects/\(vtm)"
        #expect(mounted.eventually { FileManager.default.fileExists(atPath: mounted.path(base)) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.path(base)).sorted() == ["file", "object.json", "run", "run.vtm"])
        #expect(try Shell.sha256(mounted.path(base + "/run.vtm")) == Shell.sha256(folder + "/run.vtm"))
        #expect(try Shell.sha256(mounted.path(base + "/file")) == Shell.sha256(folder + "/run.vtm"))
        #expect(try Shell.sha256(mounted.path(base + "/run/run_1.vtu")) == Shell.sha256(folder + "/run/run_1.vtu"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: mounted.path(base + "/object.json")))) as! [String: Any]
        let shownText = try lake.run(["object", "show", vtm, "--json"])
        let shown = try lake.json(shownText)
        #expect(json["id"] as? String == vtm && json["status"] as? String == "READY")
        #expect(NSDictionary(dictionary: json).isEqual(to: shown))
        // Byte for byte what `lake object show --json` prints — for the manifest, and for a
        // block whose fields (statistics, histograms) the mount lays out as the catalog stores them.
        let block = try Shell.run("getfattr --absolute-names --only-values -n user.lake.id '\(mounted.path(base + "/run/run_1.vtu"))'").output
        for id in [vtm, block] {
            let made = try Data(contentsOf: URL(fileURLWithPath: mounted.path("objects/\(id)/object.json")))
            let printed = Data(try lake.run(["object", "show", id, "--json"]).stdout.utf8)
            #expect(made == printed, "objects/\(id)/object.json is not what `lake object show --json` prints")
            #expect(id == vtm || String(decoding: made, as: UTF8.self).contains("\"hist128\" : ["), "the block's fields are shown")
        }
        let listing = try Shell.run("ls -l '\(mounted.path(base))'").output
        #expect(listing.contains("r--r--r--"))
        // A listing names object.json without sizing it (that reads the whole object); a stat
        // afterwards asks for it and gets the size a read gives.
        let read = try Data(contentsOf: URL(fileURLWithPath: mounted.path(base + "/object.json"))).count
        #expect(try Shell.run("stat -c %s '\(mounted.path(base + "/object.json"))'").output.trimmingCharacters(in: .whitespacesAndNewlines) == "\(read)")
        #expect(listing.split(separator: "\n").contains { $0.hasSuffix(" object.json") && $0.contains(" \(read) ") }, "\(listing)")
    }

    @Test func xattrsAnswerWhatAFileProvides() throws {
        let mounted = try MountedLake()
        let id = try uploadedID(mounted.lake, Self.fixtures + "/sphere.vtp", ["--param", "mach=0.8", "--tag", "project=wing"])
        let file = "objects/\(id)/sphere.vtp"
        let dump = try Shell.run("getfattr --absolute-names -d -m user.lake '\(mounted.path(file))'").output
        for name in ["user.lake.id", "user.lake.kind", "user.lake.status", "user.lake.format", "user.lake.provisions",
                     "user.lake.params", "user.lake.tags"] {
            #expect(dump.contains(name), "\(name) missing from \(dump)")
        }
        #expect(try mounted.xattr(file, "user.lake.id") == id)
        #expect(try mounted.xattr("objects/\(id)", "user.lake.status") == "READY")
        let provisions = try JSONSerialization.jsonObject(with: Data(try mounted.xattr(file, "user.lake.provisions").utf8)) as! [[String: Any]]
        let labels = provisions.compactMap { ($0["field"] as? [String: Any])?["label"] as? String }
        #expect(Set(labels) == ["uv", "area", "Normals"] || Set(labels).isSuperset(of: ["uv", "area"]))
        #expect(!(try mounted.xattr(file, "user.lake.provisions")).contains("hist128"))
        // Not annotated: quantity_type and units are null, not left out (json.md).
        for case let field? in provisions.map({ $0["field"] as? [String: Any] }) {
            #expect(field.keys.contains("quantity_type") && field["quantity_type"] is NSNull, "\(field.keys.sorted())")
            #expect(field.keys.contains("units") && field["units"] is NSNull)
        }
        let params = try JSONSerialization.jsonObject(with: Data(try mounted.xattr(file, "user.lake.params").utf8)) as! [String: Any]
        #expect((params["mach"] as? [String: Any])?["value"] as? Double == 0.8)
        #expect(try mounted.xattr(file, "security.selinux").contains("Operation not supported"))
        #expect(try mounted.xattr(file, "user.other").contains("No such attribute"))
    }

    /// Only who may read an object changes (`chmod`, `chgrp`: SharedIncomingTests); everything
    /// else in the stored trees is refused.
    @Test func everyChangeToTheReadOnlyTreesIsRefusedWithEROFS() throws {
        let mounted = try MountedLake()
        let id = try uploadedID(mounted.lake, mounted.lake.directory.write("a.txt", "read only"))
        let folder = mounted.path("objects/\(id)")
        _ = mounted.eventually { FileManager.default.fileExists(atPath: folder) }
        let file = folder + "/file"
        for command in ["echo x > '\(file)'", "echo x >> '\(file)'", "touch '\(folder)/new'", "mkdir '\(folder)/d'", "rm '\(file)'",
                        "mv '\(file)' '\(folder)/moved'", "truncate -s 0 '\(file)'",
                        "touch -d 2001-01-01 '\(file)'", "setfattr -n user.x -v 1 '\(file)'", "ln '\(file)' '\(folder)/hard'",
                        "ln -s x '\(folder)/soft'", "mkdir '\(mounted.path("objects/x"))'", "touch '\(mounted.path("cases/x"))'",
                        "mkdir '\(mounted.path("datasets/x"))'"] {
            let result = try Shell.run(command + " 2>&1")
            #expect(result.status != 0 && result.output.contains("Read-only file system"), "\(command): \(result.output)")
        }
        let chown = try Shell.run("chown nobody '\(file)' 2>&1")
        #expect(chown.status != 0 && chown.output.contains("Operation not permitted"), "\(chown.output)")
    }
}

@Suite struct VTKThroughMountTests {
    /// ParaView's way: VTK's own reader opens objects/<id>/run.vtm and finds every block.
    @Test func vtkReadsAManifestThroughTheMount() throws {
        #expect(try Shell.run("python3 -c 'import vtk'").status == 0, "PyPI vtk is needed (mount-helpers/run-tests.sh installs it)")
        let mounted = try MountedLake()
        let manifest = try Fixtures.copyRunManifest(into: mounted.lake.directory.file("case"))
        let result = try mounted.lake.run(["upload", manifest, "--json"])
        let id = (try mounted.lake.json(result)["succeeded"] as! [[String: Any]])[0]["id"] as! String
        _ = mounted.eventually { FileManager.default.fileExists(atPath: mounted.path("objects/\(id)/run.vtm")) }
        let output = try VTKReader.blockPoints(mounted.path("objects/\(id)/run.vtm"))
        #expect(output == "2 30 40", "\(output)")
    }
}

/// A process's working directory, as /proc shows it.
enum MountUsersProbe {
    static func cwd(of pid: Int32) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")
    }
}
