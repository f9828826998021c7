import Foundation
import LakeSystem
import LakeTestSupport
import Testing

/// The two ways requests reach the daemon: FUSE over io_uring (when the kernel offers it) and
/// /dev/fuse. The same work runs through each, and the daemon's log says which carried it.
@Suite struct TransportTests {
    static let ringSwitch = "/sys/module/fuse/parameters/enable_uring"
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vtk").path

    /// An upload made of 1 MiB writes, its bytes read back through objects/ (reads of up to
    /// 1 MiB), a VTK file's provisions as an xattr, a listing and a rename in incoming/.
    func exercise(_ mounted: MountedLake) throws {
        let source = mounted.lake.directory.file("data.bin")
        try Shell.run("head -c 5000000 /dev/urandom > '\(source)'")
        let copy = try Shell.run("cp '\(source)' '\(mounted.path("incoming/data.bin"))' 2>&1")
        #expect(copy.status == 0, "\(copy.output)")
        let id = try mounted.xattr("incoming/data.bin", "user.lake.id")
        #expect(id.hasPrefix("obj-"))
        #expect(try Shell.sha256(mounted.path("objects/\(id)/data.bin")) == Shell.sha256(source))
        #expect(try Shell.sha256(mounted.path("incoming/data.bin")) == Shell.sha256(source))

        #expect(try Shell.run("cp '\(Self.fixtures)/sphere.vtp' '\(mounted.path("incoming/.sphere.tmp"))'").status == 0)
        #expect(try Shell.run("mv '\(mounted.path("incoming/.sphere.tmp"))' '\(mounted.path("incoming/sphere.vtp"))'").status == 0)
        #expect(mounted.eventually { (try? mounted.xattr("incoming/sphere.vtp", "user.lake.status")) == "READY" })
        let sphere = try mounted.xattr("incoming/sphere.vtp", "user.lake.id")
        let provisions = try mounted.xattr("objects/\(sphere)/sphere.vtp", "user.lake.provisions")
        #expect(provisions.hasPrefix("[") && provisions.contains("\"area\""), "\(provisions)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.path("incoming")).sorted() == ["data.bin", "sphere.vtp"])
    }

    /// The daemon's log after unmounting: what it chose at FUSE_INIT and what served requests.
    func transportLog(_ mounted: MountedLake) throws -> (chosen: String, served: String) {
        let log = try mounted.unmountAndReadLog()
        return (log.after("FUSE transport: "), log.after("FUSE transport served: "))
    }

    @Test(.enabled(if: FileManager.default.isWritableFile(atPath: ringSwitch), "the kernel has FUSE over io_uring"))
    func requestsTravelThroughIoUringWhenTheKernelOffersIt() throws {
        try "Y".write(toFile: Self.ringSwitch, atomically: false, encoding: .utf8)
        let mounted = try MountedLake()
        try exercise(mounted)
        let log = try transportLog(mounted)
        #expect(log.chosen == "io_uring")
        let served = log.served.firstMatch(of: /^io_uring \((\d+) CPU queues, (\d+) requests\)$/)
        #expect(served != nil, "\(log.served)")
        if let served {
            #expect(Int(served.1)! >= 1)
            #expect(Int(served.2)! > 20, "the exercise makes dozens of requests")
        }
    }

    @Test func devFuseServesEverythingWhenIoUringIsTurnedOff() throws {
        let mounted = try MountedLake(options: ["no_io_uring"])
        try exercise(mounted)
        let log = try transportLog(mounted)
        #expect(log.chosen == "/dev/fuse (io_uring not asked for)")
        #expect(log.served == "/dev/fuse (io_uring not asked for)")
    }

    /// Whether the daemon holds a PM QoS request (an open /dev/cpu_dma_latency).
    func holdsLatencyRequest(_ mounted: MountedLake) throws -> Bool {
        let pid = try Shell.run("pgrep -f '[l]ake mount \(mounted.mountpoint) '").output.split(separator: "\n").first.map(String.init) ?? ""
        return try Shell.run("ls -l /proc/\(pid)/fd 2>/dev/null").output.contains("/dev/cpu_dma_latency")
    }

    /// xattr requests on the mount's root, in the background, for `seconds` or until stopped
    /// (a loaded machine may take a second or more to start Python at all).
    func burst(_ mounted: MountedLake, seconds: Int = 60) throws -> ChildProcess {
        try ChildProcess("/usr/bin/python3", ["-c", "import os,time\nend=time.time()+\(seconds)\nwhile time.time()<end: os.listxattr(\"\(mounted.mountpoint)/objects\")"])
    }

    @Test(.enabled(if: FileManager.default.isWritableFile(atPath: "/dev/cpu_dma_latency"), "PM QoS is open to root"))
    func idleCPUsPollOnlyWhileRequestsFlow() throws {
        let mounted = try MountedLake()
        #expect(try mounted.eventually(30) { try !holdsLatencyRequest(mounted) })
        let requests = try burst(mounted)
        #expect(try mounted.eventually(30) { try holdsLatencyRequest(mounted) }, "no PM QoS request while requests flow")
        requests.send(SIGKILL)
        _ = requests.wait()
        #expect(try mounted.eventually(30) { try !holdsLatencyRequest(mounted) }, "the PM QoS request outlived the requests")

        let quiet = try MountedLake(options: ["no_busy_poll"])
        let more = try burst(quiet, seconds: 2)
        #expect(try !quiet.eventually(1.5) { try holdsLatencyRequest(quiet) })
        more.wait()
    }
}
