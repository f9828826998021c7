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
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["fusermount3", lazy ? "-uz" : "-u", path]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { return (false, "cannot run fusermount3: \(error)") }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, message.trimmingCharacters(in: .whitespacesAndNewlines))
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
