import Foundation
import Glibc
import LakeSystem

/// Checks on a mountpoint before mounting: it must be an empty folder; a dead FUSE mount left by
/// a killed daemon ("Transport endpoint is not connected") is cleared first.
enum MountPoint {
    static func isMounted(_ path: String) -> Bool {
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && unescape(String(fields[4])) == path
        }
    }

    static func unescape(_ field: String) -> String {
        field.replacingOccurrences(of: "\\040", with: " ").replacingOccurrences(of: "\\011", with: "\t")
            .replacingOccurrences(of: "\\012", with: "\n").replacingOccurrences(of: "\\134", with: "\\")
    }

    /// Unmounts, lazily when `force` (for a dead mount whose daemon is gone).
    static func unmount(_ path: String, lazy: Bool) -> (Bool, String) {
        do {
            let (ended, _, errors) = try ChildProcess.run("/usr/bin/env", ["fusermount3", lazy ? "-uz" : "-u", path])
            return (ended.status == 0, String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        } catch {
            return (false, "cannot run fusermount3: \(error)")
        }
    }

    /// The daemons serving `path`: processes whose command line is `lake mount … PATH …` (how
    /// `lake mount` starts its daemon, and how a foreground mount is run).
    static func daemons(of path: String) -> [pid_t] {
        ((try? Syscall.listDirectory("/proc")) ?? []).compactMap { name -> pid_t? in
            guard let pid = pid_t(name), pid != getpid(),
                  let line = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { return nil }
            let arguments = line.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.count > 2, (arguments[0] as NSString).lastPathComponent == "lake",
                  arguments[1] == "mount", arguments.dropFirst(2).contains(path) else { return nil }
            return pid
        }
    }

    /// Waits up to `seconds` for the daemons of an unmounted `path` to finish stopping (other
    /// accounts' sessions refused, the node's session ended, the settler's last marks written);
    /// false when one is still running then.
    static func waitForDaemons(of path: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var waiting = daemons(of: path)
        while !waiting.isEmpty {
            waiting = waiting.filter { kill($0, 0) == 0 && !isZombie($0) }
            if waiting.isEmpty { return true }
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    private static func isZombie(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    /// Everything that must hold before mounting; returns a message saying what does not.
    static func prepare(_ path: String) -> String? {
        guard FileManager.default.fileExists(atPath: "/dev/fuse") else {
            return "/dev/fuse does not exist: load the fuse module (modprobe fuse) or run where FUSE is available"
        }
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOTCONN {
                let (ok, message) = unmount(path, lazy: true)
                if !ok { return "\(path) is a dead mount and could not be cleared: \(message)" }
                return prepare(path)
            }
            return "mountpoint \(path) does not exist (create it with mkdir -p \(path))"
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return "mountpoint \(path) is not a folder" }
        if isMounted(path) { return "\(path) is already mounted (lake unmount \(path) first)" }
        guard let names = try? Syscall.listDirectory(path), names.isEmpty else {
            return "mountpoint \(path) is not empty"
        }
        return nil
    }
}
