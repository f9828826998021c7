#if canImport(Glibc)
import Glibc
#endif

/// The `lake mount` daemons of a store running on this machine, found by their command lines
/// (`lake mount MOUNTPOINT --store STORE …`, as `lake mount` starts them) and checked against
/// the kernel's mount table.
public enum MountDaemons {
    public struct Daemon: Sendable, Equatable {
        public var pid: Int32
        public var mountpoint: String
        /// The dataset a `--dataset` mount serves.
        public var dataset: String?
        /// Whether the mountpoint is in /proc/mounts (a daemon can outlive its mount briefly).
        public var mounted: Bool
        /// A read-only mount of the whole lake (`-o ro`).
        public var readOnly = false
    }

    public static func of(store root: String) -> [Daemon] {
        let store = Syscall.canonicalPath(root)
        let mounted = mountpoints()
        var found: [Daemon] = []
        for entry in (try? Syscall.listDirectory("/proc")) ?? [] {
            guard let pid = Int32(entry), let words = commandLine(pid), words.count > 2, words[1] == "mount" else { continue }
            var mountpoint: String?, storeArgument: String?, dataset: String?, readOnly = false
            var index = 2
            while index < words.count {
                let word = words[index]
                if word == "--store" || word == "--dataset" || word == "--ready-fd" || word == "-o" {
                    let value = index + 1 < words.count ? words[index + 1] : nil
                    if word == "--store" { storeArgument = value }
                    if word == "--dataset" { dataset = value }
                    if word == "-o", value?.split(separator: ",").contains("ro") == true { readOnly = true }
                    index += 2
                    continue
                }
                if !word.hasPrefix("-"), mountpoint == nil { mountpoint = word }
                index += 1
            }
            guard let mountpoint, let storeArgument, Syscall.canonicalPath(storeArgument) == store else { continue }
            found.append(Daemon(pid: pid, mountpoint: mountpoint, dataset: dataset, mounted: mounted.contains(mountpoint),
                                readOnly: readOnly && dataset == nil))
        }
        return found.sorted { $0.pid < $1.pid }
    }

    /// A process's arguments, or nil when it is gone or not readable.
    static func commandLine(_ pid: Int32) -> [String]? {
        let fd = open("/proc/\(pid)/cmdline", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            bytes += buffer[..<n]
            if bytes.count > 1 << 16 { break }
        }
        guard !bytes.isEmpty else { return nil }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
    }

    /// Mountpoints of FUSE filesystems named `lake` (octal escapes of /proc/mounts undone).
    static func mountpoints() -> Set<String> {
        guard let file = fopen("/proc/mounts", "r") else { return [] }
        defer { fclose(file) }
        var result: Set<String> = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let fields = String(cString: line).split(separator: " ")
            guard fields.count > 2, fields[2].hasPrefix("fuse") else { continue }
            result.insert(unescape(String(fields[1])))
        }
        return result
    }

    static func unescape(_ text: String) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
