import Foundation
import LakeTestSupport
import Testing

/// `lake object rm` moves objects to a trash kept `trash_days`; `lake trash ls|restore|purge`;
/// `lake gc` frees the bytes of purged objects only. What a case, a dataset or a manifest still
/// uses cannot be removed, and the refusal names the user.
@Suite struct TrashTests {
    static let vtk = Fixtures.vtkDirectory

    func upload(_ lake: LakeBinary, _ path: String) throws -> String {
        let result = try lake.run(["upload", path, "--json"])
        return try #require((try lake.json(result)["succeeded"] as? [[String: Any]])?.first?["id"] as? String, "\(result.stderr)")
    }

    @Test func removedObjectsLeaveEveryViewAndComeBack() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let keep = lake.directory.write("keep.stl", Fixtures.asciiSTL(triangles: 2))
        let drop = lake.directory.write("drop.stl", Fixtures.asciiSTL(triangles: 5))
        #expect(try Shell.run("cp '\(keep)' '\(drop)' '\(mounted.path("incoming/"))'").status == 0)
        let keepID = try mounted.xattr("incoming/keep.stl", "user.lake.id")
        let dropID = try mounted.xattr("incoming/drop.stl", "user.lake.id")
        #expect(try lake.run(["wait", keepID, dropID, "--timeout", "120"]).succeeded)
        let blob = try #require((try lake.json(try lake.run(["object", "show", dropID, "--json"]))["file"] as? [String: Any])?["blob"] as? [String: Any])
        let sha = try #require((blob["content_hash"] as? [String: Any])?["sha256"] as? String, "\(blob)")

        let removed = try lake.run(["object", "rm", dropID])
        #expect(removed.succeeded && removed.stdout.contains("Moved 1 object to the trash") && removed.stdout.contains("7 days"),
                "\(removed.stdout)\(removed.stderr)")
        // Gone from listings, the mount (objects/ and its receipt in incoming/) and status counts.
        let listed = try lake.json(try lake.run(["object", "ls", "--json"]))["objects"] as? [[String: Any]] ?? []
        #expect(listed.compactMap { $0["id"] as? String } == [keepID])
        #expect(mounted.eventually { !FileManager.default.fileExists(atPath: mounted.path("objects/\(dropID)")) })
        #expect(try !FileManager.default.contentsOfDirectory(atPath: mounted.path("objects")).contains(dropID))
        #expect(mounted.eventually { !FileManager.default.fileExists(atPath: mounted.path("incoming/drop.stl")) })
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.path("incoming")) == ["keep.stl"])
        let status = try lake.json(try lake.run(["status", "--json"]))
        #expect((status["trash"] as? [String: Any])?["count"] as? Int == 1 && (status["objects"] as? [String: Any])?["READY"] as? Int == 1,
                "\(status)")

        // Shown as trashed, listed with its purge time, and refused for changes.
        let shown = try lake.json(try lake.run(["object", "show", dropID, "--json"]))
        let trash = try #require(shown["trash"] as? [String: Any], "\(shown)")
        #expect(trash["trashed_by"] as? String == "root" && trash["trashed_at"] is String)
        #expect(try lake.run(["object", "show", keepID, "--json"]).stdout.contains("\"trash\"") == false)
        #expect(try lake.run(["object", "show", dropID]).stdout.contains("TRASHED"))
        let items = try #require(try lake.json(try lake.run(["trash", "ls", "--json"]))["trash"] as? [[String: Any]])
        #expect(items.count == 1 && items[0]["id"] as? String == dropID)
        let removedAt = try #require((items[0]["trashed_at"] as? String).flatMap(Self.date))
        let expiresAt = try #require((items[0]["expires_at"] as? String).flatMap(Self.date))
        #expect(abs(expiresAt.timeIntervalSince(removedAt) - 7 * 86_400) < 1)
        #expect(try lake.run(["trash", "ls"]).stdout.contains(dropID))
        let again = try lake.run(["object", "rm", dropID])
        #expect(again.status == 1 && again.stderr.contains("already in the trash"), "\(again.stderr)")
        let update = try lake.run(["object", "update", dropID, "--name", "x"])
        #expect(update.status == 1 && update.stderr.contains("in the trash") && update.stderr.contains("lake trash restore \(dropID)"),
                "\(update.stderr)")
        let purgeUsage = try lake.run(["trash", "purge"])
        #expect(purgeUsage.status == 64, "\(purgeUsage.stderr)")

        // gc keeps the bytes of what is only trashed.
        let gc = try lake.json(try lake.run(["gc", "--json"]))
        #expect((gc["removed_blobs"] as? [String])?.isEmpty == true && (gc["purged_objects"] as? [String])?.isEmpty == true, "\(gc)")

        // Restored: back everywhere but in incoming/.
        let restored = try lake.run(["trash", "restore", dropID])
        #expect(restored.succeeded && restored.stdout.contains("Restored 1 object"), "\(restored.stdout)\(restored.stderr)")
        #expect(mounted.eventually { FileManager.default.fileExists(atPath: mounted.path("objects/\(dropID)/drop.stl")) })
        #expect(try Shell.sha256(mounted.path("objects/\(dropID)/drop.stl")) == Shell.sha256(drop))
        #expect(try lake.run(["trash", "ls"]).stdout.contains("The trash is empty."))
        let notTrashed = try lake.run(["trash", "purge", dropID])
        #expect(notTrashed.status == 1 && notTrashed.stderr.contains("not in the trash"), "\(notTrashed.stderr)")

        // Purged: the row goes, then gc frees its blob (and only its).
        #expect(try lake.run(["object", "rm", dropID]).succeeded)
        let purged = try lake.run(["trash", "purge", dropID])
        #expect(purged.succeeded && purged.stdout.contains("Purged 1 object"), "\(purged.stdout)\(purged.stderr)")
        let gone = try lake.run(["object", "show", dropID])
        #expect(gone.status == 1 && gone.stderr.contains(dropID), "\(gone.stderr)")
        let restoreGone = try lake.run(["trash", "restore", dropID])
        #expect(restoreGone.status == 1 && restoreGone.stderr.contains("purged objects cannot come back"), "\(restoreGone.stderr)")
        let freed = try lake.json(try lake.run(["gc", "--json"]))
        #expect(freed["removed_blobs"] as? [String] == [sha], "\(freed)")
        #expect(try lake.run(["verify"]).succeeded)
        #expect(try Shell.sha256(mounted.path("objects/\(keepID)/keep.stl")) == Shell.sha256(keep))
        let actions = try lake.run(["log", "--json"]).stdout
        for action in ["object.trash", "object.restore", "object.purge"] { #expect(actions.contains(action), "\(action)") }
    }

    @Test func whatACaseADatasetOrAManifestUsesStays() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let manifest = try Fixtures.copyRunManifest(into: lake.directory.file("run"))
        let vtm = try upload(lake, manifest)
        let blocks = (try lake.json(try lake.run(["object", "show", vtm, "--json"]))["content_references"] as? [[String: Any]] ?? [])
            .compactMap { $0["object_id"] as? String }
        #expect(blocks.count == 2)
        let surface = try upload(lake, "\(Self.vtk)/sphere.vtp")

        // A block of a manifest: only together with it.
        let block = try lake.run(["object", "rm", blocks[0]])
        #expect(block.status == 1 && block.stderr.contains("block 'run/run_0.vtu' of manifest \(vtm)")
                && block.stderr.contains("lake object rm \(vtm) \(blocks[0])"), "\(block.stderr)")
        #expect(try lake.run(["object", "rm", vtm, blocks[0]]).succeeded)
        // All or nothing: nothing moved when one id is refused.
        let mixed = try lake.run(["object", "rm", surface, blocks[1], "obj-01m8qmwbr86qevdatk1mt3q2th"])
        #expect(mixed.status == 1)
        #expect(try lake.json(try lake.run(["object", "show", surface, "--json"]))["trash"] == nil)
        // The manifest comes back only with its blocks.
        let alone = try lake.run(["trash", "restore", vtm])
        #expect(alone.status == 1 && alone.stderr.contains(blocks[0]) && alone.stderr.contains("restore them together"), "\(alone.stderr)")
        // A trashed object joins no case.
        let joining = try lake.run(["case", "create", "--object", blocks[0]])
        #expect(joining.status == 1 && joining.stderr.contains("in the trash"), "\(joining.stderr)")
        // A block is purged only with its manifest.
        let lonePurge = try lake.run(["trash", "purge", blocks[0]])
        #expect(lonePurge.status == 1 && lonePurge.stderr.contains("purge them together"), "\(lonePurge.stderr)")
        #expect(try lake.run(["trash", "restore", vtm, blocks[0]]).succeeded)

        // A case member, then through the case a dataset, then a frozen one.
        let caseID = try lake.json(try lake.run(["case", "create", "--object", "\(vtm):flow", "--object", "\(surface):surface", "--json"]))["id"] as! String
        let member = try lake.run(["object", "rm", surface])
        #expect(member.status == 1 && member.stderr.contains("member of case \(caseID)") && member.stderr.contains("lake case rm \(caseID)"),
                "\(member.stderr)")
        let dataset = try lake.json(try lake.run(["dataset", "create", "--name", "wing", "--case", caseID, "--json"]))["id"] as! String
        let held = try lake.run(["object", "rm", surface])
        #expect(held.status == 1 && held.stderr.contains("dataset \(dataset) holds") && held.stderr.contains("lake dataset remove \(dataset) \(caseID)"),
                "\(held.stderr)")
        #expect(try lake.run(["dataset", "freeze", dataset]).succeeded)
        let frozen = try lake.run(["object", "rm", surface])
        #expect(frozen.status == 1 && frozen.stderr.contains("frozen dataset \(dataset)"), "\(frozen.stderr)")
        let blockOfMember = try lake.run(["object", "rm", vtm, blocks[0], blocks[1]])
        #expect(blockOfMember.status == 1 && blockOfMember.stderr.contains("member of case \(caseID)"), "\(blockOfMember.stderr)")
        #expect(try lake.run(["trash", "ls", "--json"]).stdout.contains("obj-") == false)

        // Once the dataset and the case are gone, the whole manifest goes and is purged together.
        #expect(try lake.run(["dataset", "rm", "--force", dataset]).succeeded)
        #expect(try lake.run(["case", "rm", caseID]).succeeded)
        #expect(try lake.run(["object", "rm", vtm, blocks[0], blocks[1], surface]).succeeded)
        let all = try lake.json(try lake.run(["trash", "purge", "--all", "--json"]))
        #expect(Set(all["purged"] as? [String] ?? []) == Set([vtm, surface] + blocks), "\(all)")
        let freed = try lake.json(try lake.run(["gc", "--json"]))
        #expect((freed["removed_blobs"] as? [String])?.count == 4, "\(freed)")
        #expect(try lake.run(["status", "--json"]).stdout.contains("\"trash\""))
    }

    /// `trash_days` of lake.json: `lake gc` purges what has expired, and so does a mount daemon
    /// (when it starts, then hourly); `lake trash purge --expired` does it by hand.
    @Test func expiredTrashIsPurgedByGCAndTheDaemon() throws {
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        let first = try upload(lake, lake.directory.write("a.stl", Fixtures.asciiSTL(triangles: 1)))
        let second = try upload(lake, lake.directory.write("b.stl", Fixtures.asciiSTL(triangles: 2)))
        let third = try upload(lake, lake.directory.write("c.stl", Fixtures.asciiSTL(triangles: 3)))
        #expect(try lake.run(["object", "rm", first, second]).succeeded)
        // Not expired under the default: nothing goes.
        #expect(try lake.json(try lake.run(["trash", "purge", "--expired", "--json"]))["purged"] as? [String] == [])
        #expect(try lake.json(try lake.run(["gc", "--json"]))["purged_objects"] as? [String] == [])
        try mounted.configure(["trash_days": 0])
        let expired = try lake.json(try lake.run(["trash", "purge", "--expired", "--json"]))
        #expect(Set(expired["purged"] as? [String] ?? []) == [first, second], "\(expired)")
        #expect(try lake.run(["object", "rm", third]).succeeded)
        let gc = try lake.json(try lake.run(["gc", "--json"]))
        #expect(gc["purged_objects"] as? [String] == [third] && (gc["removed_blobs"] as? [String])?.count == 3, "\(gc)")
        #expect(try lake.run(["trash", "ls"]).stdout.contains("The trash is empty."))

        // A daemon purges at start what expired while none ran.
        let fourth = try upload(lake, lake.directory.write("d.stl", Fixtures.asciiSTL(triangles: 4)))
        #expect(try lake.run(["object", "rm", fourth]).succeeded)
        try mounted.mount()
        #expect(mounted.eventually(30) { (try? lake.run(["object", "show", fourth]))?.status == 1 })
        try mounted.configure(["trash_days": -1])
        let bad = try lake.run(["trash", "ls"])
        #expect(bad.status != 0 && bad.stderr.contains("trash_days"), "\(bad.stderr)")
        try mounted.configure(["trash_days": 7])
    }

    /// An object removed before it was processed is not processed (nor waited for) while in the
    /// trash; restored, it is queued again and processed.
    @Test func removedBeforeProcessingWaitsForRestore() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let uploaded = try lake.json(try lake.run(["upload", "--no-wait", lake.directory.write("late.stl", Fixtures.asciiSTL(triangles: 3)), "--json"]))
        let id = try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String)
        #expect(try lake.run(["object", "rm", id]).succeeded)
        #expect(try lake.run(["process"]).succeeded)
        #expect(try lake.json(try lake.run(["object", "show", id, "--json"]))["status"] as? String == "UPLOADED")
        let waited = try lake.run(["wait", id, "--timeout", "5"])
        #expect(waited.status != 0 && waited.stderr.contains("in the trash"), "\(waited.stdout)\(waited.stderr)")
        #expect((try lake.json(try lake.run(["status", "--json"]))["queue"] as? [String: Any])?["depth"] as? Int == 0)
        #expect(try lake.run(["trash", "restore", id]).succeeded)
        let ready = try lake.run(["wait", id, "--timeout", "120"])
        #expect(ready.succeeded && ready.stdout.hasPrefix("READY"), "\(ready.stdout)\(ready.stderr)")
    }

    /// Another account removes, restores and purges only what it may change, and its trash
    /// list shows only its own.
    @Test func onlyTheOwnerRemovesAnObject() throws {
        guard getuid() == 0 else { return }
        let alice = try Account.make("lakeprobe1"), bob = try Account.make("lakeprobe2")
        let mounted = try MountedLake()
        let lake = mounted.lake
        _ = try Shell.run("chmod 755 '\(lake.directory.path)'")
        let file = lake.directory.write("alice.txt", "alice's")
        _ = try Shell.run("chown \(alice.uid):\(alice.gid) '\(file)'; chmod 644 '\(file)'")
        #expect(try alice.run("cp '\(file)' '\(mounted.path("incoming"))/'").status == 0)
        let id = try mounted.xattr("incoming/alice.txt", "user.lake.id")
        let denied = try bob.run("\(LakeBinary.executable) object rm \(id) --store '\(mounted.store)'")
        #expect(denied.status != 0 && denied.output.contains("permission denied"), "\(denied.output)")
        let removed = try alice.run("\(LakeBinary.executable) object rm \(id) --store '\(mounted.store)'")
        #expect(removed.status == 0, "\(removed.output)")
        #expect(try bob.run("\(LakeBinary.executable) trash ls --store '\(mounted.store)'").output.contains("The trash is empty."))
        #expect(try alice.run("\(LakeBinary.executable) trash ls --store '\(mounted.store)'").output.contains(id))
        let bobPurge = try bob.run("\(LakeBinary.executable) trash purge \(id) --store '\(mounted.store)'")
        #expect(bobPurge.status != 0 && bobPurge.output.contains("permission denied"), "\(bobPurge.output)")
        #expect(try alice.run("\(LakeBinary.executable) trash restore \(id) --store '\(mounted.store)'").status == 0)
        #expect(mounted.eventually { FileManager.default.fileExists(atPath: mounted.path("objects/\(id)")) })
        let log = try lake.run(["log", "--json"]).stdout
        #expect(log.contains("object.trash") && log.contains("lakeprobe1"))
    }

    /// Content-addressed blobs are shared: purging one of two objects with the same bytes frees
    /// nothing, and a reader that opened a file before its object was removed reads it whole.
    @Test func sharedBytesAndOpenFilesSurviveRemoval() throws {
        let mounted = try MountedLake()
        let lake = mounted.lake
        let bytes = lake.directory.writeRandom("big.bin", size: 3 << 20, seed: 7)
        let first = try upload(lake, bytes)
        let twin = lake.directory.file("twin.bin")
        try FileManager.default.copyItem(atPath: bytes, toPath: twin)
        let second = try upload(lake, twin)
        #expect(mounted.eventually { FileManager.default.fileExists(atPath: mounted.path("objects/\(first)/big.bin")) })

        // A reader opens the first object's file, then the object goes to the trash and is purged.
        let reader = try FileHandle(forReadingFrom: URL(fileURLWithPath: mounted.path("objects/\(first)/big.bin")))
        // Closed even when a step below throws: an open file would keep the mount busy at its unmount.
        defer { try? reader.close() }
        let head = try reader.read(upToCount: 1 << 20) ?? Data()
        #expect(try lake.run(["object", "rm", first]).succeeded)
        #expect(try lake.run(["trash", "purge", first]).succeeded)
        let gc = try lake.json(try lake.run(["gc", "--json"]))
        #expect((gc["removed_blobs"] as? [String])?.isEmpty == true, "the twin still uses the blob: \(gc)")
        // FileHandle's readToEnd asks fstat first: the kernel asks the daemon, which still knows
        // the departed object's file (it answered ENOENT before).
        let rest = try reader.readToEnd() ?? Data()
        #expect(head + rest == (try Data(contentsOf: URL(fileURLWithPath: bytes))))
        #expect(mounted.eventually { !FileManager.default.fileExists(atPath: mounted.path("objects/\(first)")) })
        #expect(try Shell.sha256(mounted.path("objects/\(second)/twin.bin")) == Shell.sha256(bytes))
        #expect(try lake.run(["verify"]).succeeded)
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}
