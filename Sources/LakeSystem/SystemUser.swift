#if canImport(Glibc)
import Glibc
#endif

/// Who a uid is, for `created_by`.
import Synchronization

public enum SystemUser {
    /// Names looked up in the last minute: the mount asks for its caller's name on every new
    /// file, and each lookup reads /etc/passwd (or asks NSS). A renamed account shows within a minute.
    private static let recent = Mutex<[uid_t: (name: String, at: UInt64)]>([:])

    public static func name(uid: uid_t) -> String {
        var clock = timespec()
        clock_gettime(CLOCK_MONOTONIC, &clock)
        let now = UInt64(clock.tv_sec) &* 1_000_000_000 &+ UInt64(clock.tv_nsec)
        if let known = recent.withLock({ $0[uid] }), now &- known.at < 60_000_000_000 { return known.name }
        let found = lookUp(uid: uid)
        recent.withLock { names in
            if names.count > 4096 { names.removeAll() }
            names[uid] = (found, now)
        }
        return found
    }

    private static func lookUp(uid: uid_t) -> String {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getpwuid_r(uid, &record, &buffer, buffer.count, &result) == 0, let result, let name = result.pointee.pw_name {
            return String(cString: name)
        }
        return "uid:\(uid)"
    }

    public static var current: String { name(uid: getuid()) }
}

/// A group's name, as `ls -l` shows it ("gid:N" when it has none).
public enum SystemGroup {
    public static func name(gid: gid_t) -> String {
        var record = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        if getgrgid_r(gid, &record, &buffer, buffer.count, &result) == 0, let result, let name = result.pointee.gr_name {
            return String(cString: name)
        }
        return "gid:\(gid)"
    }
}
