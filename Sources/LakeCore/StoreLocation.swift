#if canImport(Glibc)
import Glibc
#endif
import LakeSystem

/// Where the store is: `--store`, else `$LAKE_STORE`, else `/var/lib/lake` for root and
/// `$XDG_DATA_HOME/lake` (default `~/.local/share/lake`) for other users.
public enum StoreLocation {
    public static func resolve(explicit: String?, environment: [String: String]) -> String {
        if let explicit, !explicit.isEmpty { return absolute(explicit) }
        if let fromEnvironment = environment["LAKE_STORE"], !fromEnvironment.isEmpty { return absolute(fromEnvironment) }
        return defaultPath(environment: environment)
    }

    public static func defaultPath(environment: [String: String]) -> String {
        if getuid() == 0 { return "/var/lib/lake" }
        if let data = environment["XDG_DATA_HOME"], !data.isEmpty { return Path.join(data, "lake") }
        return Path.join(environment["HOME"] ?? "/tmp", ".local/share/lake")
    }

    /// `path` from the working folder when it is relative.
    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = String(nulTerminated: buffer)
        return Path.join(cwd, path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }
}
