import Foundation
import Testing
@testable import LakeSystem

/// `ProcessStatus.endingSignal` decides whether a close in incoming/ is a commit (a writer that
/// ended normally) or not (one a signal is ending); it reads /proc/PID/stat in place.
@Suite struct ProcessStatusTests {
    /// A /proc/PID/stat line: fields 3-52, with `flags` (field 9) and `exitCode` (field 52).
    static func statLine(command: String, flags: UInt64, exitCode: Int32, fields: Int = 52) -> [UInt8] {
        var values = (3...fields).map { "\($0 * 11)" }
        values[0] = "S"
        if fields >= 9 { values[9 - 3] = "\(flags)" }
        if fields >= 52 { values[52 - 3] = "\(exitCode)" }
        return Array("4242 (\(command)) \(values.joined(separator: " "))\n".utf8)
    }

    static func signal(_ line: [UInt8]) -> Int32? {
        line.withUnsafeBufferPointer { ProcessStatus.endingSignal(stat: $0) }
    }

    @Test func aLiveProcessIsNotEnding() {
        #expect(ProcessStatus.endingSignal(of: getpid()) == nil)
        #expect(Self.signal(Self.statLine(command: "cp", flags: 0x0040_0100, exitCode: 0)) == nil)
        // Not exiting, whatever an old exit code says.
        #expect(Self.signal(Self.statLine(command: "cp", flags: 0x0040_0100, exitCode: 9)) == nil)
    }

    @Test func anExitingProcessTellsItsSignal() {
        #expect(Self.signal(Self.statLine(command: "python3", flags: 0x0040_0104, exitCode: 9)) == 9)
        #expect(Self.signal(Self.statLine(command: "python3", flags: 0x4, exitCode: 0x80 | 11)) == 11)   // core dumped
        // A normal exit (status in the high byte) is not a signal.
        #expect(Self.signal(Self.statLine(command: "cp", flags: 0x4, exitCode: 1 << 8)) == nil)
    }

    @Test func aCommandNameWithParenthesesAndSpacesIsSkipped() {
        #expect(Self.signal(Self.statLine(command: "evil) S 1 2 3 4 5 4 (x", flags: 0x4, exitCode: 15)) == 15)
        #expect(Self.signal(Self.statLine(command: "a b", flags: 0, exitCode: 15)) == nil)
    }

    @Test func aShortOrDamagedLineSaysNothing() {
        #expect(Self.signal(Self.statLine(command: "old", flags: 0x4, exitCode: 9, fields: 44)) == nil)
        #expect(Self.signal(Array("4242 (cp S 1 2".utf8)) == nil)
        #expect(Self.signal([]) == nil)
        var line = Self.statLine(command: "cp", flags: 0x4, exitCode: 9)
        line.removeLast()   // no final newline
        #expect(Self.signal(line) == 9)
        #expect(Self.signal(Array("4242 (cp) S 1 2 3 4 5 x4 7".utf8)) == nil)
    }

    @Test func aProcessThatIsGoneSaysNothing() {
        #expect(ProcessStatus.endingSignal(of: 0) == nil)
        #expect(ProcessStatus.endingSignal(of: Int32.max) == nil)
    }
}
