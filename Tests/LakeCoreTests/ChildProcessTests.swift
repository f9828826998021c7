import Foundation
import LakeSystem
import LakeTestSupport
import Testing

/// The spawner `lake` (fusermount3) and every test use instead of Foundation's `Process`.
/// Serialized, and no wait unbounded: when a property breaks, a child holding what it should not
/// (a pipe's end, a blocked signal) fails a test instead of stalling the next one.
@Suite(.serialized) struct ChildProcessTests {
    func text(_ data: Data) -> String { String(decoding: data, as: UTF8.self) }

    /// How many descriptors this process holds. Other tests run beside these and open and close
    /// their own, so a leak is told by growth far beyond theirs: hundreds of spawns each leaking
    /// its pipes.
    func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    }

    @Test func exitStatusesAndSignalsAreTold() throws {
        #expect(try ChildProcess.run("/bin/sh", ["-c", "exit 7"]).0 == .init(status: 7, signaled: false))
        #expect(try ChildProcess.run("/bin/true").0 == .init(status: 0, signaled: false))
        let killed = try ChildProcess.run("/bin/sh", ["-c", "kill -KILL $$"]).0
        #expect(killed == .init(status: SIGKILL, signaled: true), "\(killed)")
    }

    /// Both pipes are drained at once: a child writing a lot to both never stalls.
    @Test func largeOutputOnBothStreamsIsReadWhole() throws {
        let script = "import sys\nfor i in range(20000): sys.stdout.write('o%06d\\n' % i); sys.stderr.write('e%06d\\n' % i)"
        let (ended, output, errors) = try ChildProcess.run("/usr/bin/python3", ["-c", script])
        #expect(ended.status == 0)
        #expect(output.count == 160_000 && errors.count == 160_000)
        #expect(text(output).hasSuffix("o019999\n") && text(errors).hasPrefix("e000000\n"))
        let merged = try ChildProcess.run("/usr/bin/python3", ["-c", script], errors: .output)
        #expect(merged.output.count == 320_000 && merged.errors.isEmpty)
    }

    /// A descriptor this process opened without close-on-exec (as C libraries and other threads
    /// do) is not handed to the child: a copy of a pipe's write end would keep its reader
    /// waiting for an end of file until the child ended.
    @Test func theChildGetsNoDescriptorButItsStandardStreams() throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let file = open("/etc/hostname", O_RDONLY)
        defer { close(ends[0]); close(ends[1]); close(file) }
        // The shell's own descriptors, listed by a child of it that holds none beyond its own.
        let listed = try ChildProcess.run("/bin/sh", ["-c", "ls /proc/$$/fd"], input: .null)
        #expect(Set(text(listed.output).split(separator: "\n")) == ["0", "1", "2"], "\(text(listed.output))")
        // With a pipe for input and every stream redirected, still nothing else.
        let child = try ChildProcess("/bin/sh", ["-c", "read line; ls /proc/$$/fd"], input: .pipe, output: .pipe, errors: .null)
        child.input!.write(Data("go\n".utf8))
        try child.input!.close()
        #expect(Set(text(ChildProcess.readToEnd(child.output!)).split(separator: "\n")) == ["0", "1", "2"])
        #expect(child.wait().status == 0)
    }

    /// The test runner blocks SIGTERM on its threads; a child must not inherit that, or it could
    /// never be asked to stop.
    @Test func theChildStartsWithNoSignalBlockedOrIgnored() throws {
        var blocked = sigset_t()
        sigemptyset(&blocked)
        sigaddset(&blocked, SIGTERM)
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let status = text(try ChildProcess.run("/bin/cat", ["/proc/self/status"]).output)
        let line = { (name: String) in status.split(separator: "\n").first { $0.hasPrefix(name) }.map(String.init) ?? "" }
        #expect(line("SigBlk:").hasSuffix("0000000000000000"), "\(line("SigBlk:"))")
        // SIGPIPE (13) at its default: bit 12 of the ignored set is clear.
        let ignored = UInt64(line("SigIgn:").split(separator: "\t").last ?? "", radix: 16) ?? .max
        #expect(ignored & (1 << 12) == 0, "\(line("SigIgn:"))")
        let sleeper = try ChildProcess("/bin/sleep", ["600"])
        sleeper.send(SIGTERM)
        #expect(eventually(30) { !sleeper.isRunning }, "SIGTERM did not end the child")
        sleeper.send(SIGKILL)
        #expect(sleeper.wait() == .init(status: SIGTERM, signaled: true))
    }

    @Test func environmentAndDirectoryAreTheGivenOnes() throws {
        let folder = TemporaryDirectory("child")
        let result = try ChildProcess.run("/bin/sh", ["-c", "pwd; echo \"$ONLY|$HOME\""], environment: ["ONLY": "é ü"],
                                          directory: folder.path)
        #expect(text(result.output) == "\(folder.path)\né ü|\n")
        let inherited = try ChildProcess.run("/bin/sh", ["-c", "echo \"$PATH\""])
        #expect(text(inherited.output) == (ProcessInfo.processInfo.environment["PATH"] ?? "") + "\n")
    }

    @Test func aProgramThatCannotStartIsAnErrorAndLeaksNothing() throws {
        let before = openDescriptors()
        for _ in 0..<200 {
            #expect(throws: SystemError.self) {
                _ = try ChildProcess("/nonexistent/program", [], input: .pipe, output: .pipe, errors: .pipe)
            }
        }
        #expect(throws: SystemError.self) { _ = try ChildProcess("/bin/true", [], directory: "/nonexistent/folder") }
        #expect(openDescriptors() < before + 100, "\(before) descriptors before, \(openDescriptors()) after")
    }

    /// `isRunning` looks without reaping: the pid stays the child's (a zombie) until `wait`, so a
    /// late `send` can never reach another process that was given the same pid.
    @Test func onlyWaitReaps() throws {
        let child = try ChildProcess("/bin/cat", [], input: .pipe, output: .null)
        #expect(child.isRunning)
        try child.input!.close()
        let ended = eventually(30) { !child.isRunning }
        #expect(ended, "the child did not see the end of its input")
        if !ended { child.send(SIGKILL) }
        let state = try String(contentsOfFile: "/proc/\(child.pid)/stat", encoding: .utf8)
        #expect(state.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") == true, "\(state)")
        #expect(child.wait() == .init(status: 0, signaled: false))
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(child.pid)/stat") || child.wait().status == 0)
        child.send(SIGKILL)   // reaped: does nothing
        #expect(child.wait() == .init(status: 0, signaled: false))
    }

    /// A waiter blocked in `wait` does not keep another thread from signalling the child.
    @Test func aChildCanBeKilledWhileAnotherThreadWaitsForIt() throws {
        let child = try ChildProcess("/bin/sleep", ["600"])
        let waited = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var ended: ChildProcess.Termination?
        Thread { ended = child.wait(); waited.signal() }.start()
        #expect(child.isRunning)
        child.send(SIGKILL)
        #expect(waited.wait(timeout: .now() + 30) == .success, "the waiting thread kept the child from being killed")
        #expect(ended == .init(status: SIGKILL, signaled: true))
    }

    /// Many children started from several threads at once, as the tests run: each tells its own
    /// status, and no descriptor is left behind.
    @Test func manyChildrenFromManyThreads() throws {
        let before = openDescriptors()
        let lock = NSLock()
        nonisolated(unsafe) var statuses: [Int32: Int32] = [:]
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for i in 0..<40 {
                let code = Int32(thread * 40 + i) % 256
                let result = try? ChildProcess.run("/bin/sh", ["-c", "echo \(code); exit \(code)"])
                if let result, text(result.output) == "\(code)\n" {
                    lock.withLock { statuses[Int32(thread * 40 + i)] = result.0.status }
                }
            }
        }
        let seen = lock.withLock { statuses }
        #expect(seen.count == 320 && seen.allSatisfy { $0.value == $0.key % 256 })
        #expect(openDescriptors() < before + 100, "\(before) descriptors before, \(openDescriptors()) after")
    }
}
