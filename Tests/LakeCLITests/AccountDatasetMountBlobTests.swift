import Foundation
import Glibc
import LakeTestSupport
import Testing

/// An account's own dataset mount (security.md) reads blob files that the store's daemon opened
/// and handed over; that daemon does not know what the account's mount still holds. What the
/// store does to those files afterwards — `lake gc` removing them, a node cache dropping a copy —
/// must reach the mount as it reaches the store's own: their space comes back, and a copy that
/// read damaged is told to the store, which checks it and drops it (a bucket's cached copy,
/// fetched again) or records the damage (the only copy). Its session ends with the store's daemon
/// (a restart) or the account's grant: the mount asks for a new one, which is checked anew.
@Suite(.serialized) struct AccountDatasetMountBlobTests {
    /// A store mounted by root, with a frozen dataset of `files` granted to an account, and how
    /// to run steps as that account's own dataset mount and as root around it.
    struct Granted {
        let lake: LakeBinary
        let store: String
        let alice: Account
        let dataset: String
        let caseID: String
        let ids: [String]
        let environment: [String: String]

        /// Uploads `files` (path → label) into the store at `store` (already made and mounted
        /// by root), as one case in one frozen dataset whose group is the account's.
        init(lake: LakeBinary, store: String, files: [String], environment: [String: String] = [:]) throws {
            self.lake = lake
            self.store = store
            self.environment = environment
            alice = try Account.make("lakeprobe1")
            let upload = try lake.run(["upload"] + files + ["--json", "--store", store], store: false, environment: environment)
            ids = try #require((try lake.json(upload)["succeeded"] as? [[String: Any]])?.compactMap { $0["id"] as? String },
                               "\(upload.stderr)")
            try #require(ids.count == files.count)
            let made = try lake.run(["case", "create", "--name", "c", "--json", "--store", store] + ids.flatMap { ["--object", $0] },
                                    store: false, environment: environment)
            caseID = try #require(try lake.json(made)["id"] as? String, "\(made.stderr)")
            let set = try lake.run(["dataset", "create", "--name", "d", "--case", caseID, "--mode", "640", "--json", "--store", store],
                                   store: false, environment: environment)
            dataset = try #require(try lake.json(set)["id"] as? String, "\(set.stderr)")
            #expect(try lake.run(["dataset", "freeze", dataset, "--store", store], store: false, environment: environment).succeeded)
            #expect(try lake.run(["dataset", "chgrp", alice.name, dataset, "--store", store], store: false, environment: environment).succeeded)
        }

        /// Runs, in a private mount namespace whose /dev/fuse the account may open (this machine
        /// keeps it root's): the account mounts the dataset and runs `mounted` (its mount at
        /// `$MP`), root runs `root`, the account runs `after`, then unmounts. Root's status is
        /// the result's (the account's steps failing: 90 and 91).
        func run(mounted: String, root: String, after: String = "true", beforeMounting: String = "") throws -> Shell.Result {
            let home = lake.directory.file("alice-home"), device = lake.directory.file("fuse")
            if !FileManager.default.fileExists(atPath: home) {
                _ = try Shell.run("chmod 755 '\(lake.directory.path)'")
                try FileManager.default.createDirectory(atPath: home + "/train", withIntermediateDirectories: true)
                try FileManager.default.createDirectory(atPath: home + "/.cache", withIntermediateDirectories: true)
                _ = try Shell.run("chown -R \(alice.uid):\(alice.gid) '\(home)' && chmod 700 '\(home)'")
                #expect(try Shell.run("mknod '\(device)' c 10 229 && chmod 666 '\(device)'").status == 0)
            }
            let lakePath = LakeBinary.executable, mountpoint = home + "/train"
            // HOME: the account's mount logs to its ~/.cache/lake-mount.log.
            let exports = "export MP='\(mountpoint)' LAKE='\(lakePath)' STORE='\(store)' HOME='\(home)'\n"
            let mount = lake.directory.write("alice-mount.sh", exports + beforeMounting + "\n" + """
                "$LAKE" mount --dataset \(dataset) "$MP" --store "$STORE" > /dev/null || exit 1
                \(mounted)
                """ + "\n")
            let unmount = lake.directory.write("alice-after.sh", exports + after + "\nstatus=$?\n\"$LAKE\" unmount \"$MP\"\nexit $status\n")
            let rootPart = lake.directory.write("root-part.sh", exports + root + "\n")
            let outer = lake.directory.write("outer.sh", """
                mount --make-rprivate / && mount --bind '\(device)' /dev/fuse || exit 1
                setpriv --reuid=\(alice.uid) --regid=\(alice.gid) --clear-groups sh '\(mount)' || exit 90
                sh '\(rootPart)'; status=$?
                setpriv --reuid=\(alice.uid) --regid=\(alice.gid) --clear-groups sh '\(unmount)' || exit 91
                exit $status
                """ + "\n")
            _ = try Shell.run("chmod 755 '\(mount)' '\(unmount)' '\(rootPart)' '\(outer)'")
            let env = environment.map { "\($0.key)='\($0.value)'" }.joined(separator: " ")
            return try Shell.run("env \(env) unshare -m sh '\(outer)' 2>&1")
        }
    }

    /// Root's part: waits (polling, up to 30 s) until the file system holding `path` uses at
    /// least `bytes` fewer bytes than `$BEFORE`; prints "freed" or what is still in use.
    static func waitForFreed(_ path: String, _ bytes: Int) -> String {
        """
        i=0
        while [ $i -lt 300 ]; do
            now=$(df --output=used -B1 '\(path)' | tail -1)
            if [ $((BEFORE - now)) -ge \(bytes) ]; then echo freed; exit 0; fi
            sleep 0.1; i=$((i + 1))
        done
        echo "still in use: $now bytes, $BEFORE before"; exit 3
        """
    }

    /// Root removes the dataset, its case and objects, purges and collects while the account's
    /// mount has read (and so holds) every file: the space comes back within seconds anyway.
    @Test func theSpaceOfBlobsRemovedUnderAnAccountsMountComesBack() throws {
        guard getuid() == 0 else { return }
        let lake = LakeBinary()
        let small = lake.directory.file("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        #expect(try Shell.run("mount -t tmpfs -o size=96m,mode=755 tmpfs '\(small)'").status == 0)
        defer { _ = try? Shell.run("umount -l '\(small)'") }
        let store = small + "/store", mountpoint = lake.directory.file("mnt")
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        #expect(try lake.run(["init", "--store", store], store: false).succeeded)
        #expect(try lake.run(["mount", mountpoint, "--store", store], store: false).succeeded)
        defer {
            _ = try? lake.run(["unmount", mountpoint], store: false)
            _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mountpoint) ' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
        }
        let files = (0..<3).map { lake.directory.writeRandom("f\($0).bin", size: 6 << 20, seed: UInt64(3 * $0 + 5)) }
        let granted = try Granted(lake: lake, store: store, files: files)

        let result = try granted.run(mounted: """
            for round in 1 2; do for f in "$MP"/cases/\(granted.caseID)/*/file; do cat "$f" > /dev/null || exit 1; done; done
            """, root: """
            BEFORE=$(df --output=used -B1 '\(small)' | tail -1)
            "$LAKE" dataset rm --force \(granted.dataset) --store "$STORE" > /dev/null &&
            "$LAKE" case rm \(granted.caseID) --store "$STORE" > /dev/null &&
            "$LAKE" object rm \(granted.ids.joined(separator: " ")) --store "$STORE" > /dev/null &&
            "$LAKE" trash purge --all --store "$STORE" > /dev/null &&
            "$LAKE" gc --store "$STORE" > /dev/null || exit 2
            \(Self.waitForFreed(small, 3 * (6 << 20) - (1 << 20)))
            """)
        #expect(result.status == 0 && result.output.contains("freed"), "\(result.output)")
    }

    /// Root's part: stops the store's mount daemon at `$ROOTMP` as `lake unmount` and `systemctl
    /// stop` do (SIGTERM), waits until it has ended, and fails (5) if a session of an account's
    /// dataset mount outlives it by 30 s (a process of root's, holding the store, that nothing
    /// would end).
    static let stopStoreDaemon = """
        pkill -TERM -f "[l]ake mount $ROOTMP " || exit 4
        i=0; while pgrep -f "[l]ake mount $ROOTMP " > /dev/null; do sleep 0.1; i=$((i + 1)); [ $i -lt 600 ] || exit 5; done
        i=0; while pgrep -f "\(servingSession)" > /dev/null; do
            sleep 0.1; i=$((i + 1)); [ $i -lt 300 ] || { echo "a session outlived its daemon"; exit 5; }
        done
        """

    /// A session serving an account's dataset mount of the store at `$STORE` (a pattern for
    /// pgrep; other tests' stores run sessions of their own at the same time).
    static let servingSession = "[l]ake dataset serve .*--store $STORE( |$)"

    /// A store mounted by root with `count` distinct files granted to an account, and a second
    /// mountpoint for the daemon started after the first is stopped (killed at the end).
    final class Restarting {
        let mounted: MountedLake
        let granted: Granted
        let sums: [String]
        let second: String
        let prefix: String

        init(files count: Int, named prefix: String, size: Int, seed: UInt64) throws {
            mounted = try MountedLake()
            let lake = mounted.lake
            // Odd seeds 2 apart: `writeRandom` gives seeds differing in their lowest bit the same bytes.
            let files = (0..<count).map { lake.directory.writeRandom("\(prefix)\($0).bin", size: size, seed: seed + 2 * UInt64($0)) }
            sums = try files.map { try Shell.sha256($0) }
            granted = try Granted(lake: lake, store: lake.store, files: files)
            second = lake.directory.file("mnt2")
            self.prefix = prefix
            try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
        }

        deinit { _ = try? Shell.run("pkill -9 -f '[l]ake mount \(second) '; true") }

        /// The `index`th file as the account's mount shows it (a shell word).
        func file(_ index: Int) -> String { "\"$MP\"/cases/\(granted.caseID)/\(prefix)\(index).bin/file" }
        var asAccount: String { "setpriv --reuid=\(granted.alice.uid) --regid=\(granted.alice.gid) --clear-groups" }

        /// The account mounts and reads the first file ("before: SUM"); root stops the store's
        /// daemon (`stopStoreDaemon`) and runs `root`; the account runs `after` and unmounts.
        func runStoppingTheDaemon(then root: String, after: String = "true") throws -> Shell.Result {
            try granted.run(mounted: "echo \"before: $(sha256sum < \(file(0)))\"",
                            root: "export ROOTMP='\(mounted.mountpoint)'\n\(AccountDatasetMountBlobTests.stopStoreDaemon)\n" + root,
                            after: after)
        }
    }

    /// As `systemctl restart` does on an upgrade: the store's daemon and its sessions stop and a
    /// new daemon starts. An account's dataset mount asks the new daemon for a session of its own
    /// and goes on: an open made while no daemon answers waits for it (a loader's epoch is not
    /// broken by a restart), the files read before are still read, the others are opened anew.
    /// No session outlives its daemon, however that ends.
    @Test func anAccountsMountOutlivesARestartOfTheStoresDaemon() throws {
        guard getuid() == 0 else { return }
        let lake = try Restarting(files: 3, named: "r", size: 200_000, seed: 41)
        let (sums, second, file, asAccount) = (lake.sums, lake.second, lake.file, lake.asAccount)
        let result = try lake.runStoppingTheDaemon(then: """
            # Opened while no daemon answers: waits for the new one.
            \(asAccount) sh -c 'sum=$(sha256sum < \(file(1))) && echo "during: $sum"' &
            reader=$!
            i=0; until grep -q "went away" "$HOME"/.cache/lake-mount.log; do sleep 0.1; i=$((i + 1)); [ $i -lt 600 ] || exit 7; done
            "$LAKE" mount '\(second)' --store "$STORE" > /dev/null || exit 8
            wait $reader || { tail -n 20 "$HOME"/.cache/lake-mount.log; exit 9; }
            # Only the session ends (killed): the daemon says so on the connection, and the
            # mount's next open asks for a new session rather than taking that for an answer.
            pkill -KILL -f "\(Self.servingSession)" || exit 10
            i=0; while pgrep -f "\(Self.servingSession)" > /dev/null; do sleep 0.1; i=$((i + 1)); [ $i -lt 600 ] || exit 11; done
            \(asAccount) sh -c 'echo "new: $(sha256sum < \(file(2)))"'
            # The daemon killed (kill -9: nothing of it runs to end its sessions): its session
            # ends anyway, and the files the mount holds are still read.
            pkill -KILL -f "[l]ake mount \(second) " || exit 12
            i=0; while pgrep -f "\(Self.servingSession)" > /dev/null; do
                sleep 0.1; i=$((i + 1)); [ $i -lt 300 ] || { echo "a session outlived its killed daemon"; exit 13; }
            done
            """, after: """
            echo "after: $(sha256sum < \(file(0)))"
            """)
        #expect(result.status == 0, "\(result.output)")
        for (label, index) in [("before", 0), ("during", 1), ("after", 0), ("new", 2)] {
            #expect(result.output.contains("\(label): \(sums[index])"), "\(label): \(result.output)")
        }
    }

    /// The store's daemon stopped and not back: an account's open of a blob it never held fails
    /// (EIO) once the daemon has not come back for a while, and later ones fail at once rather
    /// than each waiting as long; files it read before are still read. When a daemon comes back,
    /// the file that failed is read (not taken for damaged). A grant taken away ends the session
    /// (idle, within a second) and no new one is given: files not held fail, held ones are read.
    @Test func anAccountsMountWithoutItsDaemonFailsOpensAndARevokedGrantIsNotRenewed() throws {
        guard getuid() == 0 else { return }
        let lake = try Restarting(files: 4, named: "g", size: 100_000, seed: 53)
        let (sums, second, file, asAccount) = (lake.sums, lake.second, lake.file, lake.asAccount)
        let result = try lake.runStoppingTheDaemon(then: """
            \(asAccount) sh -c 'cat \(file(1)) > /dev/null 2> "$HOME"/err1 && echo "served without a daemon"; cat "$HOME"/err1'
            start=$(date +%s%N)
            \(asAccount) sh -c 'cat \(file(2)) > /dev/null 2> "$HOME"/err2 && echo "served without a daemon"; cat "$HOME"/err2'
            echo "second failure took $(( ($(date +%s%N) - start) / 1000000 )) ms"
            \(asAccount) sh -c 'echo "held: $(sha256sum < \(file(0)))"'
            "$LAKE" mount '\(second)' --store "$STORE" > /dev/null || exit 8
            \(asAccount) sh -c 'echo "back: $(sha256sum < \(file(1)))"'
            "$LAKE" dataset chgrp root \(lake.granted.dataset) --store "$STORE" > /dev/null || exit 9
            # The session checks the grant again every second, idle or not, and ends.
            i=0; while pgrep -f "\(Self.servingSession)" > /dev/null; do
                sleep 0.1; i=$((i + 1)); [ $i -lt 300 ] || { echo "the grant's removal never reached the session"; exit 12; }
            done
            \(asAccount) sh -c 'cat \(file(3)) > /dev/null 2> "$HOME"/err3 && echo "served after the grant went"; cat "$HOME"/err3'
            \(asAccount) sh -c 'cat \(file(2)) > /dev/null 2> "$HOME"/err2 && echo "served after the grant went"; cat "$HOME"/err2'
            \(asAccount) sh -c 'echo "held: $(sha256sum < \(file(0)))"'
            grep -c "no longer serves this dataset" "$HOME"/.cache/lake-mount.log | sed 's/^/refusals logged: /'
            """)
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("served"), "\(result.output)")
        for (label, index) in [("before", 0), ("held", 0), ("back", 1)] {
            #expect(result.output.contains("\(label): \(sums[index])"), "\(label): \(result.output)")
        }
        let lines = result.output.split(separator: "\n")
        for index in [1, 2, 3] {
            #expect(lines.contains { $0.contains("g\(index).bin") && $0.contains("Input/output error") }, "g\(index): \(result.output)")
        }
        #expect(lines.filter { $0.contains("g2.bin") && $0.contains("Input/output error") }.count == 2, "\(result.output)")
        #expect(result.output.components(separatedBy: "held: \(sums[0])").count == 3, "\(result.output)")
        // The session ended when the grant went, the new one asked for was refused (logged), and
        // the next open did not ask again.
        #expect(result.output.contains("refusals logged: 1"), "\(result.output)")
        // The first failure waited for the daemon; the second did not wait again.
        let took = lines.first { $0.hasPrefix("second failure took") }.flatMap { Int($0.split(separator: " ")[3]) } ?? .max
        #expect(took < 5_000, "\(result.output)")
    }

    /// An account whose processes may hold 256 descriptors (a container's limit) reads 600
    /// files through its own dataset mount, twice: every one is served (the files the mount
    /// keeps from the store's daemon are bounded by the limit too).
    @Test func anAccountsMountServesManyFilesUnderALowDescriptorLimit() throws {
        guard getuid() == 0 else { return }
        let mounted = try MountedLake()
        let lake = mounted.lake
        let files = (0..<600).map { lake.directory.writeRandom("l\($0).bin", size: 4096, seed: UInt64(2 * $0 + 1)) }
        let granted = try Granted(lake: lake, store: lake.store, files: files)
        let result = try granted.run(mounted: """
            for epoch in 1 2; do
                failed=0
                for f in "$MP"/cases/\(granted.caseID)/*/file; do cat "$f" > /dev/null 2>&1 || failed=$((failed + 1)); done
                echo "epoch $epoch: $failed failed"
            done
            """, root: "true", beforeMounting: "ulimit -Sn 256 && ulimit -Hn 256 || exit 1")
        #expect(result.status == 0 && result.output.contains("epoch 1: 0 failed") && result.output.contains("epoch 2: 0 failed"),
                "\(result.output)")
    }

    /// A byte flipped in the node cache's copy of a blob an account's mount reads: the read that
    /// finds it fails with EIO, the store's daemon is told, checks the copy and drops it (the
    /// bucket's copy is not in question, so no damage is recorded), and the account's next read
    /// fetches it again and gives the file's bytes — without remounting.
    @Test func aDamagedCachedCopyReadByAnAccountIsFetchedAgain() throws {
        guard getuid() == 0 else { return }
        let server = try SeaweedS3()
        let lake = LakeBinary()
        let url = "s3://lake-account/n?endpoint=\(server.endpoint)&region=us-east-1"
        let made = try lake.run(["init", "--blobs", url], environment: server.credentials)
        #expect(made.succeeded, "\(made.stderr)")
        let mountpoint = lake.directory.file("mnt")
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        #expect(try lake.run(["mount", mountpoint], environment: server.credentials).succeeded)
        defer {
            _ = try? lake.run(["unmount", mountpoint], store: false)
            _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mountpoint) ' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
        }
        let source = lake.directory.writeRandom("s.bin", size: 100_000, seed: 23)
        let sha = try Shell.sha256(source)
        let granted = try Granted(lake: lake, store: lake.store, files: [source], environment: server.credentials)
        let cached = lake.store + "/cache/blobs/\(sha.prefix(2))/\(sha)"
        #expect(FileManager.default.fileExists(atPath: cached))
        try flipByte(cached, at: 50_000)

        let file = "\"$MP\"/cases/\(granted.caseID)/s.bin/file"
        let result = try granted.run(mounted: """
            first=$(sha256sum < \(file) 2>&1 | cut -c1-64); echo "first read: $first"
            sum=$(sha256sum < \(file)) || { tail -n 20 "$HOME"/.cache/lake-mount.log; exit 1; }
            echo "read: $sum"
            """, root: """
            echo "cached: $(sha256sum < '\(cached)')"
            """, after: "sum=$(sha256sum < \(file)) && echo \"read: $sum\"")
        #expect(result.status == 0, "\(result.output)")
        // The first read fails with EIO, or (the kernel asks again for what its read-ahead did
        // not get) gives the bytes fetched anew; never the damaged ones.
        let first = result.output.split(separator: "\n").first { $0.hasPrefix("first read: ") }.map { String($0.dropFirst(12)) } ?? ""
        #expect(first == sha || first.contains("Input/output error"), "\(result.output)")
        // The copy cached now is the bucket's, fetched again by the account's read.
        #expect(result.output.contains("cached: \(sha)"), "\(result.output)")
        // Read again while mounted, then once more after root's check: the file's own bytes.
        #expect(result.output.components(separatedBy: "read: \(sha)").count == 3, "\(result.output)")
        let shown = try lake.json(try lake.run(["object", "show", granted.ids[0], "--json"], environment: server.credentials))
        #expect(((shown["file"] as? [String: Any])?["blob"] as? [String: Any])?["damage"] is NSNull, "\(shown["file"] ?? "")")
    }

    /// A byte flipped in a blob of the store's folder (its only copy), found by an account's
    /// mount: the store's daemon checks it and records the damage, so `lake object show` and
    /// every mount say so, not only the account's.
    @Test func damageAnAccountsMountFindsIsRecordedInTheStore() throws {
        guard getuid() == 0 else { return }
        let mounted = try MountedLake()
        let lake = mounted.lake
        let source = lake.directory.writeRandom("s.bin", size: 100_000, seed: 29)
        let sha = try Shell.sha256(source)
        let granted = try Granted(lake: lake, store: lake.store, files: [source])
        let blob = try #require(try Shell.run("find '\(lake.store)/blobs' -type f -name '\(sha)*'").output
            .split(separator: "\n").first.map(String.init), "no blob file for \(sha)")
        try flipByte(blob, at: 50_000)

        let result = try granted.run(mounted: """
            if cat "$MP"/cases/\(granted.caseID)/s.bin/file > /dev/null 2>&1; then echo "damaged bytes served whole"; fi
            """, root: "true")
        #expect(result.status == 0 && !result.output.contains("served whole"), "\(result.output)")
        let shown = try lake.json(try lake.run(["object", "show", granted.ids[0], "--json"]))
        let damage = ((shown["file"] as? [String: Any])?["blob"] as? [String: Any])?["damage"] as? [String: Any]
        #expect((damage?["reason"] as? String)?.contains("hashes to") == true, "\(shown["file"] ?? "")")
        // Root's own mount stops serving it once it sees the catalog's change.
        #expect(mounted.eventually(30) { (try? Shell.run("cat '\(mounted.path("objects/\(granted.ids[0])/file"))' > /dev/null 2>&1").status) ?? 0 != 0 })
    }
}
