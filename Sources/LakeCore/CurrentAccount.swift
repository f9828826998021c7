#if canImport(Glibc)
import Glibc
#endif
import LakeModel
import LakeSystem
import Synchronization

extension Account {
    private static let actingFor = Mutex<Account?>(nil)

    /// The account this process acts for: its own, unless a session made it act for another.
    public static var current: Account {
        actingFor.withLock { $0 } ?? own
    }

    /// This process's own account (it never changes its ids or groups: looked up once).
    public static let own: Account = {
        let count = max(0, getgroups(0, nil))
        var groups = [gid_t](repeating: 0, count: Int(count))
        let got = getgroups(count, &groups)
        let supplementary = groups.prefix(Int(max(0, got))).filter { $0 != getgid() }
        return Account(uid: getuid(), gid: getgid(), groups: Array(supplementary), name: SystemUser.name(uid: getuid()))
    }()

    /// From now on this process acts for `account` (a session of the mount daemon).
    public static func actFor(_ account: Account) {
        actingFor.withLock { $0 = account }
    }

    /// The account of process `pid` as the kernel sees it now: `uid`, `gid` (from the socket's
    /// credentials) and its supplementary groups from /proc.
    public static func of(pid: Int32, uid: UInt32, gid: UInt32) -> Account {
        var groups: [UInt32] = []
        if let status = try? ReadableFile(path: "/proc/\(pid)/status").bytes(at: 0, count: 1 << 16) {
            var fields: [String: [UInt32]] = [:]
            for line in String(decoding: status, as: UTF8.self).split(separator: "\n") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[String(line[..<colon])] = line[line.index(after: colon)...]
                    .split(whereSeparator: { $0 == " " || $0 == "\t" }).compactMap { UInt32($0) }
            }
            // The pid may have been reused since connect(2): its groups count only if it is
            // still the same account.
            if fields["Uid"]?.first == uid, fields["Gid"]?.first == gid { groups = fields["Groups"] ?? [] }
        }
        return Account(uid: uid, gid: gid, groups: groups.filter { $0 != gid }, name: SystemUser.name(uid: uid))
    }
}
