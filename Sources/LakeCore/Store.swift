import Foundation
import LakeBlobStore
import LakeCatalog
import LakeModel
import LakeS3
import LakeSystem
import Logging

/// An opened store: its catalog and blob store. A store is a folder holding `lake.json`,
/// `catalog.sqlite` (WAL), `blobs/` and `spool/`.
public final class Store: Sendable {
    public let root: String
    public let config: StoreConfig
    public let catalog: any Catalog
    public let blobs: any BlobStore
    public let logger: Logger
    /// Uploads stored through this process's mount, which its processing gives way to.
    public let uploads = UploadActivity()

    static func configPath(_ root: String) -> String { Path.join(root, StoreConfig.fileName) }
    static func catalogPath(_ root: String) -> String { Path.join(root, "catalog.sqlite") }

    /// Opens an existing store; refuses a folder that is not one, or one from a newer lake.
    public init(opening root: String, logger: Logger) throws {
        guard Syscall.isDirectory(root) else { throw StoreError.noStore(path: root) }
        let configPath = Self.configPath(root)
        guard try Syscall.fileStatus(configPath) != nil else {
            throw StoreError.notAStore(path: root)
        }
        let config = try Self.readConfig(configPath)
        guard config.formatVersion <= StoreConfig.currentFormatVersion else {
            throw StoreError.unsupportedStoreVersion(path: root, version: config.formatVersion,
                                                     supported: StoreConfig.currentFormatVersion)
        }
        let hasLocalCatalog = try Syscall.fileStatus(Self.catalogPath(root)) != nil
        guard config.catalog != nil || hasLocalCatalog else {
            throw StoreError.unreadableConfig(path: root, reason: "catalog.sqlite is missing; the store is damaged")
        }
        self.root = root
        self.config = config
        self.logger = logger
        let blobs = try Self.blobStore(root: root, config: config)
        self.blobs = blobs
        let account = Account.current
        let sqlite = try Self.openCatalog(root: root, config: config, logger: logger, blobURI: { [blobs] in blobs.uri(for: $0) },
                                          actor: account.actor)
        // Acting for another account (a session of the mount daemon): the rules of the mount apply.
        catalog = account.uid == getuid() ? sqlite : AccountCatalog(sqlite, account: account)
    }

    /// The folder's SQLite file, or the PostgreSQL database the config names.
    static func openCatalog(root: String, config: StoreConfig, logger: Logger, blobURI: @escaping @Sendable (String) -> String,
                            actor: Actor? = nil) throws -> SQLiteCatalog {
        guard let url = config.catalog else {
            return try SQLiteCatalog(path: catalogPath(root), logger: logger, blobURI: blobURI, actor: actor)
        }
        do {
            return try SQLiteCatalog(postgres: url, logger: logger, blobURI: blobURI, actor: actor)
        } catch let error as CatalogError {
            // A catalog from a newer lake is said as such; anything else is the database's to fix.
            if case .newerSchema = error { throw error }
            throw StoreError.catalog(url: url, reason: "\(error)")
        }
    }

    /// A PostgreSQL URL a store may keep: the scheme, and no password (credentials come from
    /// the environment, never from lake.json or a log).
    public static func checkCatalogURL(_ url: String) throws {
        guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
            throw StoreError.catalog(url: url, reason: "a catalog is a PostgreSQL URL: postgres://USER@HOST:PORT/DATABASE")
        }
        let authority = url.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(2).first ?? ""
        let userInfo = authority.lastIndex(of: "@").map { authority[..<$0] } ?? ""
        if userInfo.contains(":") || url.lowercased().contains("password=") {
            throw StoreError.catalog(url: "postgres://…", reason: "the URL carries a password; give it in PGPASSWORD or ~/.pgpass instead, so it is never written to lake.json or a log")
        }
    }

    /// A store that is one frozen dataset served to an account by the store's daemon (its own
    /// dataset mount: security.md): the dataset's snapshot, and blobs the daemon opens for it —
    /// on a new session (`renewal`) when the daemon restarts.
    public init(serving snapshot: DatasetSnapshot, from root: String, connection: Int32,
                renewal: ServedBlobStore.Renewal?, logger: Logger) {
        self.root = root
        config = .fresh()
        self.logger = logger
        catalog = SnapshotCatalog(snapshot)
        blobs = ServedBlobStore(connection: connection, renewal: renewal, logger: logger)
    }

    public enum Creation { case created(Store), alreadyExists(Store) }

    /// The store folder's blobs, or the bucket's through this node's cache.
    static func blobStore(root: String, config: StoreConfig) throws -> any BlobStore {
        guard let bucket = config.bucket else { return try LocalBlobStore(root: root, layout: config.blobLayout) }
        let (location, client) = try connect(bucket)
        return S3BlobStore(client: client, prefix: location.prefix, cache: try NodeCache(root: bucket.cache, maximumBytes: bucket.cacheBytes),
                           storeID: config.storeId)
    }

    /// The bucket's address and a client with the environment's credentials.
    static func connect(_ bucket: BucketConfig) throws -> (S3Location, S3Client) {
        do {
            let location = try S3Location(url: bucket.url)
            return (location, try location.client())
        } catch {
            throw StoreError.bucket(url: bucket.url, reason: error.description)
        }
    }

    /// Creates a store in `root` (made if missing); with `bucket`, its blobs go to that bucket
    /// (made when missing) through a cache on this node. An existing store is left exactly as it is.
    public static func create(at root: String, logger: Logger, bucket: BucketConfig? = nil, catalog: String? = nil) throws -> Creation {
        if try Syscall.fileStatus(configPath(root)) != nil {
            return .alreadyExists(try Store(opening: root, logger: logger))
        }
        if Syscall.isDirectory(root) {
            let unexpected = try Syscall.listDirectory(root).filter { !$0.hasPrefix(".") }
            if !unexpected.isEmpty {
                throw StoreError.unreadableConfig(path: root, reason: "the folder is not empty and is not a Lake store "
                    + "(it holds \(unexpected.prefix(3).joined(separator: ", "))\(unexpected.count > 3 ? ", …" : "")); choose an empty or new folder")
            }
        }
        var config = StoreConfig.fresh()
        config.bucket = bucket
        config.catalog = catalog
        // A shared catalog first: it is made (or found) and migrated, and a store it already
        // holds gives this node its identity, so the bucket below is claimed by the same store.
        var shared: SQLiteCatalog?
        if let catalog {
            try checkCatalogURL(catalog)
            let opened = try openCatalog(root: root, config: config, logger: logger, blobURI: { $0 })
            config.storeId = try opened.storeIdentity(proposing: config.storeId)
            shared = opened
        }
        // The bucket is made (or found) and its prefix claimed for this store before anything
        // here: a wrong address or key, or a prefix another store uses, fails `lake init` and
        // leaves no folder behind.
        if let bucket {
            let (location, client) = try connect(bucket)
            do {
                try client.createBucket()
                try S3BlobStore.claim(client, prefix: location.prefix, storeID: config.storeId)
            } catch {
                throw StoreError.bucket(url: bucket.url, reason: "\(error)")
            }
        }
        try Syscall.makeDirectories(root)
        // Blobs are plain files: an account that can read the store folder reads every object,
        // whatever the modes the mount enforces (docs/security.md). Only its owner may enter.
        try Syscall.chmod(root, 0o700)
        let blobs = try blobStore(root: root, config: config)
        if let local = blobs as? LocalBlobStore { try local.makeFolders() }
        if shared == nil {
            let sqlite = try SQLiteCatalog(path: catalogPath(root), logger: logger, blobURI: { [blobs] in blobs.uri(for: $0) })
            _ = try sqlite.storeIdentity(proposing: config.storeId)
        }
        // lake.json is written last and atomically: it is what makes the folder a store.
        try AtomicFile.write(LakeJSON.data(config, pretty: true), to: configPath(root))
        return .created(try Store(opening: root, logger: logger))
    }

    static func readConfig(_ path: String) throws -> StoreConfig {
        do {
            let file = try ReadableFile(path: path)
            let bytes = try file.bytes(at: 0, count: Int(min(file.size, 1 << 20)))
            return try LakeJSON.decoder().decode(StoreConfig.self, from: Data(bytes))
        } catch {
            throw StoreError.unreadableConfig(path: path, reason: "\(error)")
        }
    }
}
