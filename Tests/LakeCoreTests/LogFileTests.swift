import Foundation
import LakeSystem
import LakeTestSupport
import Synchronization
import Testing

/// The daemon's log file folds runs of the same line and keeps under its size, whatever is logged.
@Suite struct LogFileTests {
    func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    func run(_ executable: String, _ arguments: [String]) -> Int32 {
        (try? Command.status(executable, arguments)) ?? -1
    }

    func write(_ log: LogFile, _ key: String) {
        log.write("t \(key)\n", key: key, at: "t")
    }

    @Test func aRunOfTheSameLinesIsWrittenOnceAndCounted() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("mount.log")
        let log = try LogFile(path: path, standardStreams: false)
        // Two files read damaged in turn: both runs are folded, not only the last line's.
        for _ in 0..<1000 { write(log, "warning answered EIO: a"); write(log, "warning answered EIO: b") }
        #expect(lines(path) == ["t warning answered EIO: a", "t warning answered EIO: b"])
        log.flush(at: "u")
        let counted = lines(path).filter { $0.contains("repeated 999 more times") }
        #expect(counted.count == 2 && counted.allSatisfy { $0.hasPrefix("u notice: warning answered EIO: ") }, "\(lines(path))")
    }

    @Test func aLineIsWrittenAgainOnceItsWindowIsOver() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("mount.log")
        let start = ContinuousClock.now
        let elapsed = Mutex<Duration>(.zero)
        let log = try LogFile(path: path, repeatWindow: .milliseconds(200), standardStreams: false,
                              clock: { start + elapsed.withLock { $0 } })
        write(log, "a")
        write(log, "a")
        elapsed.withLock { $0 = .milliseconds(300) }
        write(log, "a")
        #expect(lines(path) == ["t a", "t notice: a (repeated 1 more times within 0 s)", "t a"])
    }

    @Test func linesBeyondThoseRememberedReportTheOldestRun() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("mount.log")
        let log = try LogFile(path: path, standardStreams: false)
        write(log, "first")
        write(log, "first")
        for index in 0..<LogFile.remembered { write(log, "other \(index)") }
        #expect(lines(path).contains("t notice: first (repeated 1 more times within 10 s)"), "\(lines(path).prefix(4))")
        #expect(lines(path).count == 2 + LogFile.remembered)
    }

    /// Lines no run catches (a different name each time) move the file to PATH.1 past its size:
    /// at most twice that much on disk, the newest lines in the file, the ones before in PATH.1.
    @Test func theFileStaysUnderItsSize() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("mount.log")
        let log = try LogFile(path: path, maximumBytes: 10_000, standardStreams: false)
        for index in 0..<5_000 { write(log, "warning answered EIO: blob \(index) cannot be reached") }
        let size = { (file: String) in (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil }
        #expect((size(path) ?? .max) < 10_000 && (size(path + ".1") ?? .max) < 10_100)
        #expect(lines(path).last == "t warning answered EIO: blob 4999 cannot be reached")
        let older = lines(path + ".1"), newer = lines(path)
        #expect(older.last.map { $0.hasSuffix("blob \(4999 - newer.count) cannot be reached") } == true, "\(older.last ?? "")")
        #expect(!FileManager.default.fileExists(atPath: path + ".2"))
    }

    /// A log already past its size when the daemon starts is moved aside at its first line.
    @Test func aLogLeftLargeIsMovedAsideAtTheNextLine() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("mount.log")
        try Data(repeating: 0x41, count: 20_000).write(to: URL(fileURLWithPath: path))
        let log = try LogFile(path: path, maximumBytes: 10_000, standardStreams: false)
        write(log, "mounted")
        #expect(lines(path).isEmpty && lines(path + ".1").last?.hasSuffix("t mounted") == true)
    }

    /// The disk the log is on fills up: lines that cannot be written are lost, nothing fails,
    /// and once there is room again the next line is written.
    @Test func aFullDiskLosesLinesAndNothingElse() throws {
        guard getuid() == 0 else { return }
        let directory = TemporaryDirectory()
        let small = directory.file("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        #expect(run("/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", small]) == 0)
        defer { _ = run("/bin/umount", ["-l", small]) }
        let path = small + "/mount.log"
        let log = try LogFile(path: path, standardStreams: false)
        // The rest of the disk, taken (the write stops where the disk is full).
        FileManager.default.createFile(atPath: small + "/filler", contents: nil)
        if let filler = FileHandle(forWritingAtPath: small + "/filler") {
            for _ in 0..<64 { try? filler.write(contentsOf: Data(count: 4096)) }
            try? filler.close()
        }
        for index in 0..<2_000 { write(log, "warning answered EIO: blob \(index) cannot be reached") }
        #expect(!lines(path).contains("t warning answered EIO: blob 1999 cannot be reached"))
        try FileManager.default.removeItem(atPath: small + "/filler")
        write(log, "room again")
        #expect(lines(path).last == "t room again", "\(lines(path).suffix(2))")
    }
}
