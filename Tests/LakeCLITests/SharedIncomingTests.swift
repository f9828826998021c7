import Foundation
import LakeTestSupport
import Testing

/// `incoming/` on a machine several people share: a drop box with the rule of /tmp, enforced by
/// the kernel (the mount uses `default_permissions`), tried as real unprivileged accounts made
/// with `useradd`. Anyone may drop files and make folders; only a receipt's or folder's owner, or
/// root, may write over, rename, remove, chmod or touch it; `created_by` is whoever wrote the bytes.
@Suite struct SharedIncomingTests {
    func object(_ mounted: MountedLake, _ id: String) throws -> [String: Any] {
        try mounted.lake.json(try mounted.lake.run(["object", "show", id, "--json"]))
    }

    @Test func anyoneDropsFilesButOnlyTheOwnerChangesThem() throws {
        guard getuid() == 0 else { return }
        let alice = try Account.make("lakeprobe1"), bob = try Account.make("lakeprobe2")
        let mounted = try MountedLake()
        _ = try Shell.run("chmod 755 '\(mounted.lake.directory.path)'")
        let incoming = mounted.path("incoming")
        #expect(try Shell.run("stat -c %a '\(incoming)'").output == "1777\n")

        // Everyone drops a file; each is owned by its writer and made by them.
        #expect(try Shell.run("echo root-bytes > '\(incoming)/root.txt'").status == 0)
        let a = try alice.run("umask 022; echo alice-bytes > '\(incoming)/alice.txt'")
        #expect(a.status == 0, "\(a.output)")
        let b = try bob.run("umask 022; echo bob-bytes > '\(incoming)/bob.txt'")
        #expect(b.status == 0, "\(b.output)")
        #expect(try Shell.run("stat -c '%U %a' '\(incoming)/alice.txt'").output == "lakeprobe1 644\n")
        let rootID = try mounted.xattr("incoming/root.txt", "user.lake.id")
        let aliceID = try mounted.xattr("incoming/alice.txt", "user.lake.id")
        #expect(try object(mounted, aliceID)["created_by"] as? String == "lakeprobe1")

        // Alice cannot touch root's receipt or Bob's in any way; nothing changes.
        for target in ["root.txt", "bob.txt"] {
            let path = "\(incoming)/\(target)"
            for (attempt, refusal) in [("echo forged > '\(path)'", "Permission denied"), ("rm -f '\(path)'", "Operation not permitted"),
                                       ("mv '\(path)' '\(incoming)/moved.txt'", "Operation not permitted"),
                                       ("chmod 666 '\(path)'", "Operation not permitted"),
                                       ("touch -d 2001-01-01 '\(path)'", "Permission denied")] {
                let result = try alice.run(attempt)
                #expect(result.status != 0 && result.output.contains(refusal), "alice: \(attempt): \(result.output)")
            }
        }
        #expect(try Shell.run("cat '\(incoming)/root.txt'; stat -c '%U %a' '\(incoming)/root.txt'").output == "root-bytes\nroot 644\n")
        #expect(try mounted.xattr("incoming/root.txt", "user.lake.id") == rootID)
        #expect(try Shell.run("cat '\(incoming)/bob.txt'").output == "bob-bytes\n")
        #expect(!FileManager.default.fileExists(atPath: "\(incoming)/moved.txt"))

        // Her own she may write over (a new object, made by her), chmod and remove.
        #expect(try alice.run("echo again > '\(incoming)/alice.txt' && chmod 600 '\(incoming)/alice.txt'").status == 0)
        let rewritten = try mounted.xattr("incoming/alice.txt", "user.lake.id")
        #expect(try rewritten != aliceID && object(mounted, rewritten)["created_by"] as? String == "lakeprobe1")
        let peek = try bob.run("cat '\(incoming)/alice.txt'")
        #expect(peek.status != 0 && peek.output.contains("Permission denied"), "a 0600 receipt was readable by another account: \(peek.output)")
        #expect(try alice.run("rm '\(incoming)/alice.txt'").status == 0)

        // Root may write over Bob's receipt: the object is root's, the receipt stays Bob's.
        #expect(try Shell.run("echo from-root > '\(incoming)/bob.txt'").status == 0)
        let overwritten = try mounted.xattr("incoming/bob.txt", "user.lake.id")
        #expect(try object(mounted, overwritten)["created_by"] as? String == "root")
        #expect(try Shell.run("stat -c %U '\(incoming)/bob.txt'").output == "lakeprobe2\n")

        // Folders likewise: Alice's is hers; Bob can neither write into it nor remove it.
        #expect(try alice.run("umask 022; mkdir '\(incoming)/alice-runs'").status == 0)
        let into = try bob.run("echo x > '\(incoming)/alice-runs/bob.txt'")
        #expect(into.status != 0 && into.output.contains("Permission denied"), "\(into.output)")
        let removal = try bob.run("rmdir '\(incoming)/alice-runs'")
        #expect(removal.status != 0 && removal.output.contains("Operation not permitted"), "\(removal.output)")
        #expect(try alice.run("echo run > '\(incoming)/alice-runs/r1.txt'").status == 0)
        #expect(try Shell.run("stat -c '%U' '\(incoming)/alice-runs' '\(incoming)/alice-runs/r1.txt'").output == "lakeprobe1\nlakeprobe1\n")
    }

    /// Every object is owned by the account that made it, with the mode of the file it came from:
    /// a 0600 file copied with `cp -p` (or uploaded with `lake upload`) stays private in
    /// `objects/` too; a 0644 one is readable by everyone. The object's JSON says so.
    @Test func objectsKeepTheirMakersAndModes() throws {
        guard getuid() == 0 else { return }
        let alice = try Account.make("lakeprobe1"), bob = try Account.make("lakeprobe2")
        let mounted = try MountedLake()
        let lake = mounted.lake
        _ = try Shell.run("chmod 755 '\(lake.directory.path)'")
        let secret = lake.directory.write("secret.txt", "alice only")
        let shared = lake.directory.write("shared.txt", "for everyone")
        _ = try Shell.run("chown \(alice.uid):\(alice.gid) '\(secret)' '\(shared)'; chmod 600 '\(secret)'; chmod 644 '\(shared)'")
        let copy = try alice.run("cp -p '\(secret)' '\(shared)' '\(mounted.path("incoming"))/'")
        #expect(copy.status == 0, "\(copy.output)")
        let secretID = try mounted.xattr("incoming/secret.txt", "user.lake.id")
        let sharedID = try mounted.xattr("incoming/shared.txt", "user.lake.id")
        let owner = try object(mounted, secretID)["owner"] as? [String: Any]
        #expect(owner?["uid"] as? Int == Int(alice.uid) && owner?["gid"] as? Int == Int(alice.gid) && owner?["mode"] as? String == "0600",
                "\(String(describing: owner))")
        #expect(mounted.eventually { FileManager.default.fileExists(atPath: mounted.path("objects/\(secretID)/file")) })
        #expect(try Shell.run("stat -c '%U %a' '\(mounted.path("objects/\(secretID)"))' '\(mounted.path("objects/\(secretID)/file"))'").output
                == "lakeprobe1 500\nlakeprobe1 400\n")
        let peek = try bob.run("cat '\(mounted.path("objects/\(secretID)/file"))'")
        #expect(peek.status != 0 && peek.output.contains("Permission denied"), "\(peek.output)")
        let json = try bob.run("cat '\(mounted.path("objects/\(secretID)/object.json"))'")
        #expect(json.status != 0 && json.output.contains("Permission denied"), "\(json.output)")
        #expect(try alice.run("cat '\(mounted.path("objects/\(secretID)/file"))'").output == "alice only")
        #expect(try Shell.run("cat '\(mounted.path("objects/\(secretID)/file"))'").output == "alice only")
        #expect(try bob.run("cat '\(mounted.path("objects/\(sharedID)/file"))'").output == "for everyone")

        // `lake upload` (here root's) records the uploader and the source file's mode.
        let private0640 = lake.directory.write("root.txt", "root's")
        _ = try Shell.run("chmod 640 '\(private0640)'")
        let uploaded = try #require(try lake.json(try lake.run(["upload", private0640, "--json"]))["succeeded"] as? [[String: Any]])
        let uploadedOwner = uploaded.first?["owner"] as? [String: Any]
        #expect(uploadedOwner?["uid"] as? Int == 0 && uploadedOwner?["mode"] as? String == "0640", "\(String(describing: uploadedOwner))")
    }

    /// The owner (or root) changes who may read an object, with `chmod`/`chgrp` on its folder or
    /// `lake object chmod|chgrp`; nobody else may, and nobody gives an object to another owner.
    @Test func theOwnerChangesWhoMayReadAnObject() throws {
        guard getuid() == 0 else { return }
        let alice = try Account.make("lakeprobe1"), bob = try Account.make("lakeprobe2")
        let mounted = try MountedLake()
        let lake = mounted.lake
        _ = try Shell.run("chmod 755 '\(lake.directory.path)'")
        let source = lake.directory.write("result.txt", "alice's result")
        _ = try Shell.run("chmod 644 '\(source)'")
        #expect(try alice.run("cp '\(source)' '\(mounted.path("incoming"))/'").status == 0)
        let id = try mounted.xattr("incoming/result.txt", "user.lake.id")
        let folder = mounted.path("objects/\(id)")
        #expect(mounted.eventually { FileManager.default.fileExists(atPath: "\(folder)/file") })
        #expect(try bob.run("cat '\(folder)/file'").output == "alice's result")

        let refused = try bob.run("chmod 644 '\(folder)'")
        #expect(refused.status != 0 && refused.output.contains("Operation not permitted"), "\(refused.output)")
        let given = try Shell.run("chown lakeprobe2 '\(folder)' 2>&1")
        #expect(given.status != 0 && given.output.contains("Operation not permitted"), "\(given.output)")

        #expect(try alice.run("chmod 600 '\(folder)'").status == 0)
        let owner = try object(mounted, id)["owner"] as? [String: Any]
        #expect(owner?["uid"] as? Int == Int(alice.uid) && owner?["mode"] as? String == "0600", "\(String(describing: owner))")
        #expect(mounted.eventually { (try? bob.run("cat '\(folder)/file'").output.contains("Permission denied")) == true })
        #expect(try alice.run("cat '\(folder)/file'").output == "alice's result")

        // Root shares it with Bob's group through the CLI; Bob, in that group, reads it again.
        #expect(try lake.run(["object", "chgrp", "lakeprobe2", id]).succeeded)
        #expect(try lake.run(["object", "chmod", "640", id]).succeeded)
        #expect(mounted.eventually { (try? bob.run("cat '\(folder)/file'").output) == "alice's result" })
        #expect(try Shell.run("stat -c '%U %G %a' '\(folder)/file'").output == "lakeprobe1 lakeprobe2 440\n")
        let bad = try lake.run(["object", "chmod", "9x", id])
        #expect(!bad.succeeded && bad.stderr.contains("not octal"), "\(bad.stderr)")
    }

    /// A case shows its members with their own owners and modes (reading one takes the case's
    /// leave and the object's); a dataset is the grant: whoever its mode and group let in reads
    /// every file in it, on the main mount and on `lake mount --dataset`, whatever the objects'
    /// own modes. The owner (or root) changes that with `lake case|dataset chmod|chgrp`.
    @Test func aDatasetIsTheGrantAndACaseNeedsTheObjectsLeaveToo() throws {
        guard getuid() == 0 else { return }
        let alice = try Account.make("lakeprobe1"), bob = try Account.make("lakeprobe2")
        let mounted = try MountedLake()
        let lake = mounted.lake
        _ = try Shell.run("chmod 755 '\(lake.directory.path)'")
        let source = lake.directory.write("sample.txt", "alice's sample")
        _ = try Shell.run("chown \(alice.uid) '\(source)'; chmod 600 '\(source)'")
        #expect(try alice.run("cp -p '\(source)' '\(mounted.path("incoming"))/'").status == 0)
        let object = try mounted.xattr("incoming/sample.txt", "user.lake.id")
        let created = try lake.json(try lake.run(["case", "create", "--object", "\(object):sample", "--mode", "644", "--json"]))
        let caseID = try #require(created["id"] as? String)
        #expect((created["owner"] as? [String: Any])?["mode"] as? String == "0644")
        let dataset = try #require(try lake.json(try lake.run(["dataset", "create", "--name", "shared", "--case", caseID,
                                                                "--mode", "640", "--json"]))["id"] as? String)
        #expect(try lake.run(["dataset", "chgrp", "lakeprobe2", dataset]).succeeded)
        // A dataset is frozen once its cases settle, which waits for the object's processing.
        #expect(mounted.eventually(60) { (try? self.object(mounted, object)["status"] as? String) == "READY" })
        #expect(try lake.run(["dataset", "freeze", dataset]).succeeded)

        let inCase = mounted.path("cases/\(caseID)/sample/file")
        #expect(mounted.eventually { FileManager.default.fileExists(atPath: inCase) })
        let viaCase = try bob.run("cat '\(inCase)'")
        #expect(viaCase.status != 0 && viaCase.output.contains("Permission denied"), "a case showed a private object: \(viaCase.output)")
        #expect(try alice.run("cat '\(inCase)'").output == "alice's sample")
        #expect(try bob.run("cat '\(mounted.path("cases/\(caseID)/case.json"))' > /dev/null").status == 0)

        let inDataset = mounted.path("datasets/\(dataset)/cases/\(caseID)/sample/file")
        #expect(mounted.eventually { FileManager.default.fileExists(atPath: inDataset) })
        #expect(try bob.run("cat '\(inDataset)'").output == "alice's sample", "the dataset's group was not let in")
        let outsider = try alice.run("cat '\(inDataset)'")
        #expect(outsider.status != 0 && outsider.output.contains("Permission denied"), "\(outsider.output)")

        let directory = lake.directory.file("shared")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        _ = try Shell.run("chmod 755 '\(directory)'")
        #expect(try lake.run(["mount", "--dataset", dataset, directory]).succeeded)
        defer { _ = try? lake.run(["unmount", directory], store: false) }
        #expect(try Shell.run("stat -c '%U %G %a' '\(directory)'").output == "root lakeprobe2 550\n")
        #expect(try bob.run("cat '\(directory)/cases/\(caseID)/sample/file'").output == "alice's sample")
        #expect(try alice.run("ls '\(directory)'").output.contains("Permission denied"))

        #expect(try lake.run(["dataset", "chmod", "600", dataset]).succeeded)
        #expect(mounted.eventually { (try? bob.run("cat '\(inDataset)'").output.contains("Permission denied")) == true })
        let notOwner = try Shell.run("setpriv --reuid=\(bob.uid) --regid=\(bob.gid) --clear-groups \(LakeBinary.executable) dataset chmod 644 \(dataset) --store '\(mounted.store)' 2>&1")
        #expect(notOwner.status != 0, "\(notOwner.output)")
    }

    /// `object_mode` in lake.json caps every new object's mode, through `incoming/` and `lake
    /// upload` alike; a file more private than the cap stays as private; a cap that is not
    /// permission bits is refused with the key named.
    @Test func aStoreCapsTheModesOfNewObjects() throws {
        guard getuid() == 0 else { return }
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        try mounted.configure(["object_mode": "0640"])
        try mounted.mount()
        func mode(_ id: String) throws -> String? {
            (try mounted.lake.json(try lake.run(["object", "show", id, "--json"]))["owner"] as? [String: Any])?["mode"] as? String
        }
        #expect(try Shell.run("umask 022; echo open > '\(mounted.path("incoming"))/open.txt'").status == 0)
        #expect(try mode(try mounted.xattr("incoming/open.txt", "user.lake.id")) == "0640")
        let secret = lake.directory.write("secret.txt", "secret")
        _ = try Shell.run("chmod 600 '\(secret)'")
        let uploaded = try lake.json(try lake.run(["upload", secret, "--json"]))
        let id = try #require((uploaded["succeeded"] as? [[String: Any]])?.first?["id"] as? String)
        #expect(try mode(id) == "0600")

        try mounted.configure(["object_mode": "rwxr-x---"])
        let refused = try lake.run(["object", "ls"])
        #expect(!refused.succeeded && refused.stderr.contains("object_mode"), "\(refused.stderr)")
    }

    /// Quotas in lake.json: an account at its object or byte limit gets EDQUOT in `incoming/`
    /// (nothing stored, no receipt left), `lake upload` says why, other accounts go on, and
    /// `lake quota` shows use and limits.
    @Test func quotasStopAnAccountAtItsLimit() throws {
        guard getuid() == 0 else { return }
        let alice = try Account.make("lakeprobe1"), bob = try Account.make("lakeprobe2")
        let mounted = try MountedLake(mount: false)
        let lake = mounted.lake
        func setQuotas(_ quotas: [String: Any]) throws {
            let path = mounted.store + "/lake.json"
            var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
            config["quotas"] = quotas
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        }
        try setQuotas(["users": ["lakeprobe1": ["objects": 2], "lakeprobe2": ["bytes": 10_000]]])
        try mounted.mount()
        _ = try Shell.run("chmod 755 '\(lake.directory.path)'")
        let incoming = mounted.path("incoming")

        #expect(try alice.run("echo one > '\(incoming)/a1.txt' && echo two > '\(incoming)/a2.txt'").status == 0)
        let third = try alice.run("echo three > '\(incoming)/a3.txt'")
        #expect(third.status != 0 && third.output.contains("Disk quota exceeded"), "\(third.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(incoming)/a3.txt"))
        // Her `lake upload`, which runs through the mount daemon, is held to the same limit.
        let extra = lake.directory.write("alice-extra.txt", "extra")
        _ = try Shell.run("chmod 644 '\(extra)'")
        let viaCLI = try alice.run("\(LakeBinary.executable) upload '\(extra)' --no-wait --store '\(mounted.store)'")
        #expect(viaCLI.status != 0 && viaCLI.output.contains("lakeprobe1's quota is exceeded"), "\(viaCLI.output)")

        #expect(try bob.run("head -c 6000 /dev/zero > '\(incoming)/b1.bin'").status == 0)
        let big = try bob.run("head -c 6000 /dev/zero > '\(incoming)/b2.bin'")
        #expect(big.status != 0 && big.output.contains("Disk quota exceeded"), "\(big.output)")
        #expect(!FileManager.default.fileExists(atPath: "\(incoming)/b2.bin"))
        #expect(try bob.run("echo small > '\(incoming)/b3.txt'").status == 0, "bob is still under his byte limit")

        #expect(try Shell.run("for i in 1 2 3 4; do echo root > '\(incoming)'/r$i.txt || exit 1; done").status == 0, "root has no quota")

        let report = try lake.json(try lake.run(["quota", "--json"]))["accounts"] as? [[String: Any]] ?? []
        let byUser = Dictionary(uniqueKeysWithValues: report.map { ($0["user"] as? String ?? "", $0) })
        #expect(byUser["lakeprobe1"]?["objects"] as? Int == 2 && (byUser["lakeprobe1"]?["limit"] as? [String: Any])?["objects"] as? Int == 2,
                "\(report)")
        #expect(byUser["lakeprobe2"]?["bytes"] as? Int == 6006 && (byUser["lakeprobe2"]?["limit"] as? [String: Any])?["bytes"] as? Int == 10_000,
                "\(report)")
        #expect(byUser["root"]?["objects"] as? Int == 4)

        // The CLI says the same to an account at its limit (here root, limited for the purpose).
        try setQuotas(["users": ["root": ["objects": 4]]])
        let refused = try lake.run(["upload", lake.directory.write("more.txt", "more")])
        #expect(!refused.succeeded && refused.stderr.contains("quota is exceeded"), "\(refused.stderr)")
    }

    /// `lake log`: every create, update, chmod, freeze and mount, with who did it — the account
    /// whose process did, whether through the mount or the CLI — filtered by object or account.
    @Test func theAuditTrailSaysWhoDidWhat() throws {
        guard getuid() == 0 else { return }
        let alice = try Account.make("lakeprobe1")
        let mounted = try MountedLake()
        let lake = mounted.lake
        _ = try Shell.run("chmod 755 '\(lake.directory.path)'")
        #expect(try alice.run("echo data > '\(mounted.path("incoming"))/a.txt'").status == 0)
        let id = try mounted.xattr("incoming/a.txt", "user.lake.id")
        #expect(mounted.eventually { FileManager.default.fileExists(atPath: mounted.path("objects/\(id)/file")) })
        #expect(try alice.run("chmod 600 '\(mounted.path("objects/\(id)"))'").status == 0)
        #expect(try lake.run(["object", "update", id, "--name", "renamed"]).succeeded)
        #expect(mounted.eventually(60) { (try? lake.json(try lake.run(["object", "show", id, "--json"]))["status"] as? String) == "READY" })
        let caseID = try #require(try lake.json(try lake.run(["case", "create", "--object", id, "--json"]))["id"] as? String)
        let dataset = try #require(try lake.json(try lake.run(["dataset", "create", "--name", "d", "--case", caseID, "--json"]))["id"] as? String)
        #expect(try lake.run(["dataset", "freeze", dataset]).succeeded)

        func entries(_ arguments: [String]) throws -> [[String: Any]] {
            try lake.json(try lake.run(["log", "--json"] + arguments))["entries"] as? [[String: Any]] ?? []
        }
        let all = try entries([])
        let actions = all.map { "\($0["action"] ?? "")@\($0["user"] ?? "")" }
        #expect(Array(actions.prefix(6)) == ["dataset.freeze@root", "dataset.create@root", "case.create@root", "object.update@root",
                                             "object.chmod@lakeprobe1", "object.create@lakeprobe1"], "\(actions)")
        #expect(actions.contains("mount@root"))
        let ofObject = try entries(["--object", id]).map { $0["action"] as? String ?? "" }
        #expect(ofObject == ["object.update", "object.chmod", "object.create"])
        let byAlice = try entries(["--user", "lakeprobe1"]).map { $0["action"] as? String ?? "" }
        #expect(byAlice == ["object.chmod", "object.create"])
        let text = try lake.run(["log", "--limit", "1"])
        #expect(text.succeeded && text.stdout.contains("dataset.freeze") && text.stdout.split(separator: "\n").count == 1, "\(text.stdout)")
    }

    /// A store whose lake.json says `"mount_allow_other": false` is mounted for root alone:
    /// another account cannot even look in.
    @Test func aStoreCanKeepItsMountsToRoot() throws {
        guard getuid() == 0 else { return }
        let alice = try Account.make("lakeprobe1")
        let mounted = try MountedLake(mount: false)
        let path = mounted.store + "/lake.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        config["mount_allow_other"] = false
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: path))
        try mounted.mount()
        _ = try Shell.run("chmod 755 '\(mounted.lake.directory.path)'")
        let options = try Shell.run("grep ' \(mounted.path("").dropLast()) ' /proc/mounts").output
        #expect(!options.isEmpty && !options.contains("allow_other") && options.contains("default_permissions"), "\(options)")
        let look = try alice.run("ls '\(mounted.path("incoming"))'")
        #expect(look.status != 0 && look.output.contains("Permission denied"), "\(look.output)")
        #expect(try Shell.run("ls '\(mounted.path(""))'").output.contains("incoming"))
    }
}
