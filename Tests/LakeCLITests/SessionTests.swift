import Foundation
import LakeSystem
import LakeTestSupport
import Testing

/// `lake` run by accounts that cannot open a shared store (docs/security.md, "The CLI for every
/// account"): the command runs in the store's mount daemon, acting for the account the kernel
/// names, and reads and writes that account's files only with its own rights. Tried as real
/// accounts made with `useradd` against a real root mount.
@Suite struct SessionTests {
    /// A mounted lake whose store other accounts can reach (but not read), and a folder of
    /// Alice's own.
    struct SharedLake {
        let mounted: MountedLake
        let home: String
        let alice: Account, bob: Account

        init() throws {
            alice = try Account.make("lakeprobe1")
            bob = try Account.make("lakeprobe2")
            mounted = try MountedLake()
            _ = try Shell.run("chmod 755 '\(mounted.lake.directory.path)'")
            home = mounted.lake.directory.file("alice-home")
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            _ = try Shell.run("chown \(alice.uid):\(alice.gid) '\(home)' && chmod 700 '\(home)'")
        }

        /// `lake ARGUMENTS --store STORE` as `account`, in `cwd`.
        func lake(_ account: Account, _ arguments: String, cwd: String = "/") throws -> Shell.Result {
            try account.run("cd '\(cwd)' && \(LakeBinary.executable) \(arguments) --store '\(mounted.store)'")
        }

        /// The daemon's session socket, as its log names it.
        func socket() throws -> String {
            let log = try String(contentsOfFile: mounted.store + "/logs/mount.log", encoding: .utf8)
            let line = try #require(log.split(separator: "\n").last { $0.contains("sessions for other accounts at ") })
            return String(line[line.range(of: "sessions for other accounts at ")!.upperBound...]).trimmingCharacters(in: .whitespaces)
        }

        func object(_ id: String) throws -> [String: Any] {
            try mounted.lake.json(try mounted.lake.run(["object", "show", id, "--json"]))
        }

        func objectCount() throws -> Int {
            (try mounted.lake.json(try mounted.lake.run(["object", "ls", "--json"]))["objects"] as? [Any])?.count ?? -1
        }
    }

    func id(in output: String) -> String? {
        output.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "-" }).first { $0.hasPrefix("obj-") }.map(String.init)
    }

    @Test func anAccountUploadsAndReadsWhatItMayThroughTheDaemon() throws {
        guard getuid() == 0 else { return }
        let shared = try SharedLake()
        let alice = shared.alice, bob = shared.bob
        // Alice uploads a file of hers by a relative path: hers, made by her, with its mode.
        #expect(try alice.run("cd '\(shared.home)' && umask 077 && echo alice-bytes > mine.txt").status == 0)
        let upload = try shared.lake(alice, "upload mine.txt --no-wait", cwd: shared.home)
        #expect(upload.status == 0, "\(upload.output)")
        let mine = try #require(id(in: upload.output), "\(upload.output)")
        let recorded = try shared.object(mine)
        #expect(recorded["created_by"] as? String == "lakeprobe1")
        let owner = recorded["owner"] as? [String: Any]
        #expect(owner?["uid"] as? Int == Int(alice.uid) && owner?["mode"] as? String == "0600", "\(recorded)")

        // A store named by a relative path reaches the same daemon and store.
        let relative = try alice.run("cd '\(shared.mounted.lake.directory.path)' && \(LakeBinary.executable) object show \(mine) --store store")
        #expect(relative.status == 0 && relative.output.contains("mine.txt"), "\(relative.output)")

        // A file she cannot read is not read for her, though the daemon is root: nothing is stored.
        let secret = shared.mounted.lake.directory.file("root-secret.txt")
        try "root's secret".write(toFile: secret, atomically: true, encoding: .utf8)
        _ = try Shell.run("chmod 600 '\(secret)'")
        let before = try shared.objectCount()
        let stolen = try shared.lake(alice, "upload '\(secret)' --no-wait")
        #expect(stolen.status != 0 && stolen.output.contains("ermission denied"), "\(stolen.output)")
        #expect(try shared.objectCount() == before)

        // Root's private and public objects: she sees and reads the public one only.
        let rootPrivate = shared.mounted.lake.directory.file("private.txt"), rootPublic = shared.mounted.lake.directory.file("public.txt")
        try "private".write(toFile: rootPrivate, atomically: true, encoding: .utf8)
        try "public".write(toFile: rootPublic, atomically: true, encoding: .utf8)
        _ = try Shell.run("chmod 600 '\(rootPrivate)'; chmod 644 '\(rootPublic)'")
        let hidden = try #require(id(in: try shared.mounted.lake.run(["upload", rootPrivate, "--no-wait"]).stdout))
        let open = try #require(id(in: try shared.mounted.lake.run(["upload", rootPublic, "--no-wait"]).stdout))
        let listing = try shared.lake(alice, "object ls")
        #expect(listing.status == 0 && listing.output.contains(open) && listing.output.contains(mine) && !listing.output.contains(hidden),
                "\(listing.output)")
        // Pages of what she may read are full and lead on, whatever private objects lie between.
        var paged: [String] = []
        var cursor = ""
        repeat {
            let page = try shared.lake(alice, "object ls --limit 1 --json" + (cursor.isEmpty ? "" : " --after \(cursor)"))
            let parsed = try JSONSerialization.jsonObject(with: Data(page.output.utf8)) as? [String: Any] ?? [:]
            paged += (parsed["objects"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            cursor = parsed["next_cursor"] as? String ?? ""
        } while !cursor.isEmpty && paged.count < 10
        #expect(Set(paged) == [open, mine] && paged.count == 2, "\(paged)")
        let peek = try shared.lake(alice, "object show \(hidden)")
        #expect(peek.status != 0 && peek.output.contains("permission denied") && !peek.output.contains("private.txt"), "\(peek.output)")
        // She waits for her upload to be processed; another's private object is refused, not waited for.
        let waited = try shared.lake(alice, "wait \(mine) --timeout 120")
        #expect(waited.status == 0 && waited.output.hasPrefix("READY"), "\(waited.output)")
        let waitHidden = try shared.lake(alice, "wait \(hidden) --timeout 5")
        #expect(waitHidden.status == 1 && waitHidden.output.contains("permission denied"), "\(waitHidden.output)")
        let get = try shared.lake(alice, "object get \(open) -o copy.txt", cwd: shared.home)
        #expect(get.status == 0, "\(get.output)")
        #expect(try Shell.run("cat '\(shared.home)/copy.txt'; stat -c %U '\(shared.home)/copy.txt'").output == "publiclakeprobe1\n")
        let bobGet = try shared.lake(bob, "object get \(mine) -o -")
        #expect(bobGet.status != 0 && !bobGet.output.contains("alice-bytes"), "\(bobGet.output)")

        // Only the owner changes an object or who may read it.
        let chmodRoot = try shared.lake(alice, "object chmod 600 \(open)")
        #expect(chmodRoot.status != 0, "\(chmodRoot.output)")
        #expect((try shared.object(open)["owner"] as? [String: Any])?["mode"] as? String == "0644")
        #expect(try shared.lake(alice, "object chmod 640 \(mine)").status == 0)
        let update = try shared.lake(alice, "object update \(open) --description mine-now")
        #expect(update.status != 0, "\(update.output)")

        // Cases only of what she may read; hers.
        let stolenCase = try shared.lake(alice, "case create --name peek --object \(hidden)")
        #expect(stolenCase.status != 0 && stolenCase.output.contains("permission denied"), "\(stolenCase.output)")
        let made = try shared.lake(alice, "case create --name mine --object \(mine) --object \(open) --json")
        #expect(made.status == 0, "\(made.output)")

        // A manifest and its blocks, by relative paths from her folder: the blocks are found
        // where she is, opened by her.
        let fixtures = IncomingTests.fixtures
        #expect(try Shell.run("cp -r '\(fixtures)/run.vtm' '\(fixtures)/run' '\(shared.home)/' && chown -R \(alice.uid):\(alice.gid) '\(shared.home)'").status == 0)
        let tree = try shared.lake(alice, "upload run.vtm --json", cwd: shared.home)
        #expect(tree.status == 0 && tree.output.contains("\"READY\""), "\(tree.output)")
        #expect(!tree.output.contains("could not be uploaded"), "\(tree.output)")

        // A list of cases from a file she cannot read is not read for her.
        let shadow = try shared.lake(alice, "dataset create --name d --cases-from '\(secret)'")
        #expect(shadow.status != 0 && shadow.output.contains("Permission denied") && !shadow.output.contains("root's secret"), "\(shadow.output)")

        // The audit trail and quotas: her own lines only.
        let log = try shared.lake(alice, "log --json")
        #expect(log.status == 0 && log.output.contains("lakeprobe1") && !log.output.contains("\"user\":\"root\""), "\(log.output)")
        let othersLog = try shared.lake(alice, "log --user root")
        #expect(othersLog.status != 0, "\(othersLog.output)")
        let quota = try shared.lake(bob, "quota --json")
        #expect(quota.status == 0 && quota.output.contains("lakeprobe2") && !quota.output.contains("lakeprobe1"), "\(quota.output)")
    }

    /// Names that are not UTF-8 reach the daemon's child as bytes, given as arguments or in a
    /// list, and are opened with the account's own rights: hers are stored under the names the
    /// mount would give them; root's file of such a name in a folder she cannot enter is not.
    @Test func namesThatAreNotUTF8GoThroughTheDaemon() throws {
        guard getuid() == 0 else { return }
        let shared = try SharedLake()
        let alice = shared.alice
        #expect(try alice.run("cd '\(shared.home)' && printf one > \"$(printf 'a\\377.bin')\" && printf two > \"$(printf 'b\\376.bin')\" "
            + "&& printf 'b\\376.bin\\n' > list").status == 0)
        let byArgument = try shared.lake(alice, "upload --no-wait \"$(printf 'a\\377.bin')\"", cwd: shared.home)
        #expect(byArgument.status == 0, "\(byArgument.output)")
        let byList = try shared.lake(alice, "upload --no-wait --files-from list", cwd: shared.home)
        #expect(byList.status == 0, "\(byList.output)")
        for (output, name, bytes) in [(byArgument.output, "a\\xff.bin", "one"), (byList.output, "b\\xfe.bin", "two")] {
            let object = try shared.object(try #require(id(in: output), "\(output)"))
            #expect(object["name"] as? String == name)
            #expect((object["owner"] as? [String: Any])?["uid"] as? Int == Int(alice.uid), "\(object)")
            let blob = ((object["file"] as? [String: Any])?["blob"] as? [String: Any])?["id"] as? String
            #expect(blob == String(try Shell.run("printf \(bytes) | sha256sum").output.prefix(64)))
        }
        // Root's file of such a name, where she may not look: not read for her.
        let secret = shared.mounted.lake.directory.file("root-only")
        #expect(try Shell.run("mkdir -m 700 '\(secret)' && printf secret > \"\(secret)/$(printf 's\\377.bin')\" "
            + "&& printf '\(secret)/s\\377.bin\\n' > '\(shared.home)/theirs' && chown \(alice.uid) '\(shared.home)/theirs'").status == 0)
        let count = try shared.objectCount()
        let refused = try shared.lake(alice, "upload --no-wait --files-from theirs", cwd: shared.home)
        #expect(refused.status != 0 && refused.output.contains("permission denied"), "\(refused.output)")
        #expect(try shared.objectCount() == count)
    }

    @Test func whatOnlyTheStoreMayDoIsRefused() throws {
        guard getuid() == 0 else { return }
        let shared = try SharedLake()
        for command in ["gc", "verify", "process", "init"] {
            let result = try shared.lake(shared.alice, command)
            #expect(result.status != 0 && result.output.contains("needs the store itself"), "\(command): \(result.output)")
        }
        // A client that names another store on the daemon's socket is refused by the session.
        let other = try TestStore()
        let socket = [try shared.socket()]
        let attempt = try shared.alice.run("""
            for s in \(socket.joined(separator: " ")); do /usr/bin/python3 -c '
            import socket, sys, json, struct
            s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
            run = json.dumps({"arguments": ["object", "ls", "--store", sys.argv[2]], "environment": {}}).encode()
            socket.send_fds(s, [struct.pack(">I", len(run)) + run], [0, 1, 2])
            while True:
                head = s.recv(4)
                if len(head) < 4: break
                body = b""
                while len(body) < struct.unpack(">I", head)[0]: body += s.recv(65536)
                reply = json.loads(body)
                if "exit" in reply: print("exit", reply["exit"]); break
            ' "$s" '\(other.root)'; done
            """)
        #expect(attempt.output.contains("serves") && !attempt.output.contains("exit 0"), "\(attempt.output)")
    }

    /// An account mounts a dataset it is granted, itself, through fusermount3; the store's
    /// daemon serves it the dataset's snapshot and blob files. This machine keeps /dev/fuse to
    /// root (0600), so the account's commands run in a private mount namespace whose /dev/fuse
    /// is 0666, as on a stock distribution; outside it the refusal says why.
    @Test func anAccountMountsADatasetItIsGranted() throws {
        guard getuid() == 0 else { return }
        let shared = try SharedLake()
        let lake = shared.mounted.lake
        let sample = lake.directory.write("sample.txt", "granted bytes")
        _ = try Shell.run("chmod 600 '\(sample)'")
        let object = try #require(id(in: try lake.run(["upload", sample]).stdout))
        let caseID = try #require(try lake.json(try lake.run(["case", "create", "--name", "c", "--object", object, "--json"]))["id"] as? String)
        func dataset(_ group: String) throws -> String {
            let made = try lake.json(try lake.run(["dataset", "create", "--name", "d", "--case", caseID, "--mode", "640", "--json"]))
            let id = try #require(made["id"] as? String)
            #expect(try lake.run(["dataset", "freeze", id]).succeeded)
            #expect(try lake.run(["dataset", "chgrp", group, id]).succeeded)
            return id
        }
        let granted = try dataset(shared.alice.name), other = try dataset("root")
        let mountpoint = shared.home + "/train"
        #expect(try shared.alice.run("mkdir '\(mountpoint)'").status == 0)

        let device = lake.directory.file("fuse")
        #expect(try Shell.run("mknod '\(device)' c 10 229 && chmod 666 '\(device)'").status == 0)
        var scripts = 0
        func inNamespace(_ account: Account, _ commands: String) throws -> Shell.Result {
            scripts += 1
            let script = lake.directory.write("as-account-\(scripts).sh", commands + "\n")
            _ = try Shell.run("chmod 755 '\(script)'")
            return try Shell.run("unshare -m sh -c \"mount --make-rprivate / && mount --bind '\(device)' /dev/fuse && "
                                 + "setpriv --reuid=\(account.uid) --regid=\(account.gid) --clear-groups sh '\(script)'\" 2>&1")
        }
        let store = shared.mounted.store, lakePath = LakeBinary.executable
        // Her object is root's and private (0600): the dataset is what grants her its bytes.
        let session = try inNamespace(shared.alice, """
            \(lakePath) mount --dataset \(granted) '\(mountpoint)' --store '\(store)' || exit 1
            trap "\(lakePath) unmount '\(mountpoint)'" EXIT
            cat '\(mountpoint)/cases/\(caseID)/sample.txt/file' && echo && stat -c '%U %G %a' '\(mountpoint)'
            """)
        #expect(session.status == 0 && session.output.contains("granted bytes\nroot lakeprobe1 550"), "\(session.output)")
        #expect(try Shell.run("grep -c '\(mountpoint)' /proc/mounts").output == "0\n")
        // The mount is recorded as hers, by the daemon that served it.
        #expect(try lake.run(["log", "--object", granted]).stdout.contains("lakeprobe1"))

        // Her mount's daemon, ended by a signal instead of an unmount, takes the mount down too.
        let signalled = try inNamespace(shared.alice, """
            out=$(\(lakePath) mount --dataset \(granted) '\(mountpoint)' --store '\(store)') || exit 1
            pid=$(echo "$out" | sed -n 's/.*daemon pid \\([0-9]*\\).*/\\1/p')
            kill -TERM "$pid"
            while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
            grep -c ' \(mountpoint) ' /proc/self/mounts
            """)
        #expect(signalled.output.hasSuffix("0\n"), "\(signalled.output)")

        // A dataset not granted to her is refused, and nothing is mounted.
        let refused = try inNamespace(shared.alice, "\(lakePath) mount --dataset \(other) '\(mountpoint)' --store '\(store)'")
        #expect(refused.status != 0 && refused.output.contains("permission denied"), "\(refused.output)")
        // Where /dev/fuse is root's alone, the message says so.
        let here = try shared.lake(shared.alice, "mount --dataset \(granted) '\(mountpoint)'")
        #expect(here.status != 0 && here.output.contains("lets only root use FUSE"), "\(here.output)")
        // No session child outlives the mount it served.
        #expect(shared.mounted.eventually { (try? Shell.run("pgrep -f '[l]ake dataset serve'").status) == 1 })
    }

    /// An account that opens sessions and never ends them holds at most its own share: its next
    /// one is refused with a reason, another account's still runs, and its own runs again once
    /// it lets go.
    @Test func anAccountCannotHoldEveryoneElsesSessions() throws {
        guard getuid() == 0 else { return }
        let shared = try SharedLake()
        let socket = [try shared.socket()]
        let holder = shared.mounted.lake.directory.write("hold.py", """
            import socket, sys, time
            held = []
            for path in sys.argv[1:]:
                for _ in range(8):
                    s = socket.socket(socket.AF_UNIX)
                    try:
                        s.connect(path); held.append(s)
                    except OSError:
                        pass
            print("holding", len(held), flush=True)
            sys.stdin.read()
            """)
        let holding = try ChildProcess("/usr/bin/setpriv", ["--reuid=\(shared.alice.uid)", "--regid=\(shared.alice.gid)", "--clear-groups",
                                                             "/usr/bin/python3", holder] + socket, input: .pipe, output: .pipe)
        _ = holding.output!.availableData   // "holding N": the connections are made
        let refused = try shared.lake(shared.alice, "object ls")
        #expect(refused.status != 0 && refused.output.contains("as many sessions"), "\(refused.output)")
        let other = try shared.lake(shared.bob, "object ls")
        #expect(other.status == 0, "\(other.output)")
        try holding.input!.close()
        holding.wait()
        #expect(shared.mounted.eventually { (try? shared.lake(shared.alice, "object ls").status) == 0 })
    }

    /// A client killed mid-command takes its session's child with it: the daemon notices the
    /// connection go and ends the child, which would otherwise wait for the client for ever.
    @Test func aKilledClientLeavesNoSession() throws {
        guard getuid() == 0 else { return }
        let shared = try SharedLake()
        // The child asks the client to open a FIFO nobody writes to: the client blocks in
        // open(2), the child waits for its answer.
        let fifo = shared.mounted.lake.directory.file("never-written")
        #expect(try Shell.run("mkfifo '\(fifo)' && chmod 666 '\(fifo)'").status == 0)
        let client = try ChildProcess("/usr/bin/setpriv", ["--reuid=\(shared.alice.uid)", "--regid=\(shared.alice.gid)", "--clear-groups",
                                                           LakeBinary.executable, "upload", fifo, "--no-wait", "--store", shared.mounted.store],
                                      output: .null, errors: .null)
        let sessions = "pgrep -f '[l]ake upload \(fifo)'"
        #expect(shared.mounted.eventually { (try? Shell.run(sessions).output.split(separator: "\n").count) == 2 },
                "the session's child did not start")
        client.send(SIGKILL)
        client.wait()
        #expect(shared.mounted.eventually { (try? Shell.run(sessions).status) == 1 }, "the session's child outlived its client")
        #expect(try shared.objectCount() == 0)
    }

    /// Two daemons of one store (a read-write mount and a read-only one): the later serves the
    /// sessions; when it stops or is killed, the other serves them again (within its 5 s check),
    /// and when that one stops too the socket is gone.
    @Test func whenOneOfTwoDaemonsStopsTheOtherServesSessions() throws {
        let lake = try SharedLake()
        let readOnly = lake.mounted.lake.directory.file("ro")
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
        #expect(try lake.mounted.lake.run(["mount", "-o", "ro", readOnly]).succeeded)
        #expect(try lake.lake(lake.alice, "object ls").status == 0)
        #expect(try lake.mounted.lake.run(["unmount", readOnly], store: false).succeeded)
        var last = ""
        let served = eventually(60) {
            let ls = (try? lake.lake(lake.alice, "object ls")) ?? Shell.Result(status: 1, output: "")
            last = ls.output
            return ls.status == 0
        }
        #expect(served, "after the read-only mount's daemon stopped: \(last)")
        // Killed, its socket left behind: no daemon answers there, and the other takes it back.
        #expect(try lake.mounted.lake.run(["mount", "-o", "ro", readOnly]).succeeded)
        _ = try Shell.run("pkill -KILL -f '[l]ake mount .*\(readOnly)'; fusermount3 -uz '\(readOnly)' 2>/dev/null; true")
        let servedAgain = eventually(60) {
            let ls = (try? lake.lake(lake.alice, "object ls")) ?? Shell.Result(status: 1, output: "")
            last = ls.output
            return ls.status == 0
        }
        #expect(servedAgain, "after the read-only mount's daemon was killed: \(last)")
        let socket = try lake.socket()
        _ = try lake.mounted.lake.run(["unmount", lake.mounted.mountpoint], store: false)
        #expect(!FileManager.default.fileExists(atPath: socket))
    }

    @Test func withoutADaemonTheMessageSaysWhy() throws {
        guard getuid() == 0 else { return }
        let shared = try SharedLake()
        #expect(try shared.mounted.lake.run(["unmount", shared.mounted.mountpoint], store: false).succeeded)
        let result = try shared.lake(shared.alice, "object ls")
        #expect(result.status != 0 && result.output.contains("no mount daemon serves it"), "\(result.output)")
    }
}
