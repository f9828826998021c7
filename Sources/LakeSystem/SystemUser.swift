#if canImport(Glibc)
import Glibc
#endif

/// Who a uid is, for `created_by`.
public enum SystemUser {
    public static func name(uid: uid_t) -> String {
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
