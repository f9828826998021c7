#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LakeModel
import LakeSystem
import Synchronization

/// Per-account limits on what the lake stores (`quotas` in lake.json):
///
///     "quotas": { "default": { "bytes": 10737418240, "objects": 100000 },
///                 "users": { "alice": { "bytes": 1073741824 }, "1002": { "objects": 50 } } }
///
/// `default` applies to every account but root; `users` (by name or uid) replace it for those
/// accounts, root included. A limit left out is no limit. An object counts against its owner
/// with its size (json.md, `owner`).
public struct QuotaConfig: Codable, Sendable, Equatable {
    public struct Limit: Codable, Sendable, Equatable {
        public var bytes: Int64?
        public var objects: Int64?
        public init(bytes: Int64? = nil, objects: Int64? = nil) {
            self.bytes = bytes
            self.objects = objects
        }
    }

    public var `default`: Limit?
    public var users: [String: Limit]

    public init(default: Limit? = nil, users: [String: Limit] = [:]) {
        self.default = `default`
        self.users = users
    }

    enum CodingKeys: String, CodingKey { case `default`, users }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        `default` = try c.decodeIfPresent(Limit.self, forKey: .default)
        users = try c.decodeIfPresent([String: Limit].self, forKey: .users) ?? [:]
    }

    /// The limit of account `uid`, if it has one.
    public func limit(for uid: UInt32) -> Limit? {
        if let named = users[String(uid)] ?? users[SystemUser.name(uid: uid)] { return named }
        return uid == 0 ? nil : `default`
    }
}

/// What an account stores now.
public struct QuotaUsage: Sendable, Equatable, Codable {
    public var objects: Int64
    public var bytes: Int64
    public init(objects: Int64, bytes: Int64) {
        self.objects = objects
        self.bytes = bytes
    }
}

/// Why an account may not store more: said to the CLI's user, and EDQUOT through the mount.
public struct QuotaExceeded: Error, Sendable, CustomStringConvertible {
    public let account: String
    public let what: String
    public var description: String { "\(account)'s quota is exceeded: \(what) (lake quota shows use and limits)" }
}

/// The mount daemon's view of each account's use, read from the catalog once and kept up to
/// date by its own uploads; read again after `refreshSeconds`, so uploads by other processes
/// (the CLI, another mount) count within that time.
public final class QuotaLedger: Sendable {
    let store: Store
    let refreshSeconds: Double
    private let known = Mutex<[UInt32: (usage: QuotaUsage, at: Date)]>([:])

    public init(store: Store, refreshSeconds: Double = 30) {
        self.store = store
        self.refreshSeconds = refreshSeconds
    }

    var config: QuotaConfig? { store.config.quotas }

    public func usage(_ uid: UInt32) throws -> QuotaUsage {
        if let entry = known.withLock({ $0[uid] }), Date().timeIntervalSince(entry.at) < refreshSeconds { return entry.usage }
        let counted = try store.catalog.usage(uid: uid)
        let usage = QuotaUsage(objects: counted.objects, bytes: counted.bytes)
        known.withLock { $0[uid] = (usage, Date()) }
        return usage
    }

    /// Before a new object of `uid`'s: refused when the account holds as many as it may.
    public func checkNewObject(uid: UInt32) throws {
        guard let limit = config?.limit(for: uid), let most = limit.objects else { return }
        let used = try usage(uid).objects
        if used >= most {
            throw QuotaExceeded(account: SystemUser.name(uid: uid), what: "\(used) objects of at most \(most)")
        }
    }

    /// While `uid` writes: refused once the account's bytes with `writing` more would pass its limit.
    public func checkBytes(uid: UInt32, writing: Int64) throws {
        guard let limit = config?.limit(for: uid), let most = limit.bytes else { return }
        let used = try usage(uid).bytes
        if used + writing > most {
            throw QuotaExceeded(account: SystemUser.name(uid: uid),
                                what: "\(used) bytes stored and \(writing) being written, of at most \(most)")
        }
    }

    /// An upload of `uid`'s was stored.
    public func stored(uid: UInt32, bytes: Int64) {
        known.withLock { known in
            guard var entry = known[uid] else { return }
            entry.usage.objects += 1
            entry.usage.bytes += bytes
            known[uid] = entry
        }
    }
}
