import LakeSystem
import LakeCatalog
import LakeModel

/// The store's trash as commands use it: what is in it and when each object leaves it for
/// good (`trash_days` of lake.json after it was removed), and the purge of what has expired,
/// which `lake gc` and the mount daemon (hourly) run. Purging deletes catalog rows only; bytes
/// are freed by `lake gc` once no object uses them.
public struct Trash: Sendable {
    public let store: Store
    public init(store: Store) { self.store = store }

    public var retentionSeconds: Double { store.config.trashDays * 86_400 }

    /// One object in the trash, as `lake trash ls` shows it.
    public struct Item: Sendable, Codable {
        public var object: LakeObject
        public var expiresAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case id, name, file_name, size, status, owner, trashed_at, trashed_by, expires_at
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(object.id, forKey: .id)
            try c.encode(object.name, forKey: .name)
            try c.encode(object.file.name, forKey: .file_name)
            try c.encode(object.size, forKey: .size)
            try c.encode(object.status, forKey: .status)
            try c.encode(object.owner, forKey: .owner)
            try c.encode(object.trash?.trashedAt, forKey: .trashed_at)
            try c.encode(object.trash?.trashedBy, forKey: .trashed_by)
            try c.encode(expiresAt, forKey: .expires_at)
        }

        public init(from decoder: any Decoder) throws {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "trash items are only written"))
        }

        init(object: LakeObject, expiresAt: Timestamp) {
            self.object = object
            self.expiresAt = expiresAt
        }
    }

    public func items() throws -> [Item] {
        try store.catalog.trashedObjects().map { object in
            Item(object: object, expiresAt: (object.trash?.trashedAt ?? .now).adding(seconds: retentionSeconds))
        }
    }

    /// Purges every trashed object whose time is up; returns what went.
    @discardableResult
    public func purgeExpired(now: Timestamp = .now) throws -> [LakeObject] {
        let expired = try items().filter { $0.expiresAt <= now }.map(\.object.id)
        guard !expired.isEmpty else { return [] }
        var purged: [LakeObject]
        do {
            purged = try store.catalog.purgeObjects(expired, at: now)
        } catch let error as CatalogError where error.isRefusalOrAbsence {
            // One refusal (or an object another mount purged meanwhile) must not keep the rest
            // forever: each on its own, what can go goes.
            store.logger.info("purging the trash object by object: \(error)")
            purged = expired.flatMap { id in (try? store.catalog.purgeObjects([id], at: now)) ?? [] }
        }
        for object in purged {
            store.logger.info("purged from the trash", metadata: ["object": "\(object.id)", "bytes": "\(object.size)"])
        }
        return purged
    }
}

extension CatalogError {
    var isRefusalOrAbsence: Bool {
        switch self {
        case .refused, .notFound: true
        default: false
        }
    }
}

/// The mount daemon's purge of expired trash: at start, then hourly, so objects leave the
/// trash on time on a lake nobody runs `lake gc` on. Bytes stay until `lake gc`.
final class TrashPurger: Sendable {
    static let intervalSeconds = 3600.0
    private let trash: Trash
    private let thread = BackgroundThread(name: "lake-trash")

    init(store: Store) { trash = Trash(store: store) }

    func start() throws(ThreadStartError) {
        try thread.start { [trash] thread in
            repeat {
                do { try trash.purgeExpired() } catch {
                    trash.store.logger.error("cannot purge the trash's expired objects: \(error)")
                }
            } while thread.pause(Self.intervalSeconds, wakeable: false)
        }
    }

    func stop() { thread.stop() }
}
