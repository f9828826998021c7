#if canImport(Glibc)
import Glibc
#endif

/// What the kernel says about another process, from /proc.
public enum ProcessStatus {
    /// The signal that is ending process `pid`, when it is exiting because of one (SIGKILL, a
    /// crash, Ctrl-C): the kernel sets PF_EXITING and the exit code before it closes the
    /// process's files, so a FUSE flush sent by that closing can tell a killed writer from one
    /// that ended on its own. Nil for a live process, a normal exit, or one that is gone.
    public static func endingSignal(of pid: Int32) -> Int32? {
        guard pid > 0, let text = try? ReadableFile(path: "/proc/\(pid)/stat").bytes(at: 0, count: 4096) else { return nil }
        // The command name (field 2) may hold spaces and parentheses: fields start after the last ')'.
        guard let close = text.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = text[(close + 1)...].split { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") }
            .map { String(decoding: $0, as: UTF8.self) }
        // fields[0] is field 3 (state): flags is field 9, exit_code field 52 (Linux 3.5+).
        guard fields.count > 49, let flags = UInt64(fields[6]), let code = Int32(fields[49]) else { return nil }
        let exiting: UInt64 = 0x4   // PF_EXITING
        guard flags & exiting != 0 else { return nil }
        let signal = code & 0x7f
        return signal == 0 ? nil : signal
    }
}
