#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about another process, from /proc.
public enum ProcessStatus {
    /// The signal that is ending process `pid`, when it is exiting because of one (SIGKILL, a
    /// crash, Ctrl-C): the kernel sets PF_EXITING and the exit code before it closes the
    /// process's files, so a FUSE flush sent by that closing can tell a killed writer from one
    /// that ended on its own. Nil for a live process, a normal exit, or one that is gone.
    ///
    /// Every close of a file in incoming/ asks this, so it reads into a buffer on the stack and
    /// picks the two fields out in place (splitting the line into strings cost as much as the
    /// kernel's side).
    public static func endingSignal(of pid: Int32) -> Int32? {
        guard pid > 0 else { return nil }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 2048) { buffer -> Int32? in
            let count = readStat(of: pid, into: buffer)
            guard count > 0 else { return nil }
            return endingSignal(stat: UnsafeBufferPointer(rebasing: buffer[..<count]))
        }
    }

    /// The same, from the text of /proc/PID/stat.
    static func endingSignal(stat text: UnsafeBufferPointer<UInt8>) -> Int32? {
        // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // Field 3 (state) is the first after it: flags is field 9, exit_code field 52 (Linux 3.5+).
        var field = 2
        var value: UInt64 = 0
        var inField = false
        var flags: UInt64?
        for byte in text[(close + 1)...] {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n") {
                if inField {
                    if field == 9 {
                        flags = value
                        guard value & 0x4 != 0 else { return nil }   // PF_EXITING
                    } else if field == 52 {
                        let signal = Int32(truncatingIfNeeded: value & 0x7f)
                        return signal == 0 ? nil : signal
                    }
                    inField = false
                }
                continue
            }
            if !inField {
                inField = true
                field += 1
                value = 0
            }
            if field == 9 || field == 52 {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
            }
        }
        if inField, field == 52, flags != nil {
            let signal = Int32(truncatingIfNeeded: value & 0x7f)
            return signal == 0 ? nil : signal
        }
        return nil
    }

    /// Reads /proc/PID/stat into `buffer`; 0 when the process is gone or the file unreadable.
    private static func readStat(of pid: Int32, into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        let fd = "/proc/\(pid)/stat".withCString { Glibc.open($0, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return 0 }
        defer { Glibc.close(fd) }
        var done = 0
        while done < buffer.count {
            let n = Glibc.read(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { break }
            done += n
        }
        return done
    }
}
