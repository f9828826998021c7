import Foundation
import LakeBlobStore
import LakeModel

/// `lake.json`, the marker and configuration of a store folder.
public struct StoreConfig: Codable, Sendable {
    /// 2: blobs in one level of folders (`BlobLayout.oneLevel`); 1: two levels. Both are read.
    public static let currentFormatVersion = 2
    public static let fileName = "lake.json"

    public var format: String
    public var formatVersion: Int
    public var storeId: String
    public var createdAt: Timestamp
    /// Seconds a processor may run on one object before it is stopped.
    public var processingTimeLimitSeconds: Double
    /// Seconds a manifest copied into incoming/ waits for blocks not yet copied beside it.
    public var manifestBlockWaitSeconds: Double
    /// How fast the mount daemon's scrubber re-hashes stored blobs, on average (0: never).
    public var scrubBytesPerSecond: Double
    /// How long a blob found intact stays trusted before the scrubber re-hashes it.
    public var scrubIntervalHours: Double
    /// How long the mount waits to sync the files of small uploads in one batch (their bytes
    /// are durable in the catalog meanwhile), and to forget the marks of larger blobs whose syncs
    /// have ended (see `BlobSettler`).
    public var settleSeconds: Double
    /// Per-account limits (`Quotas.swift`); nil: none.
    public var quotas: QuotaConfig?
    /// Whether root's mounts of this store let every account in (`allow_other`); false keeps
    /// them root's alone (docs/security.md).
    public var mountAllowOther: Bool = true
    /// The most a new object's mode may allow, in octal (e.g. "0640"); nil: the mode of the file
    /// it came from (docs/security.md). A 0600 file stays 0600 either way.
    public var objectMode: String?
    /// Days an object stays in the trash after `lake object rm` before `lake gc` (or a mount
    /// daemon, hourly) purges it; 0 purges at the next of those.
    public var trashDays: Double = Self.defaultTrashDays
    /// Blobs kept in an S3 bucket, with a cache on this node, instead of in the store folder.
    public var bucket: BucketConfig?
    /// With a shared catalog: hours a blob in the bucket that no catalog row names is left alone
    /// by `lake gc` (it may be another machine's upload whose commit is on its way).
    public var gcGraceHours: Double = Self.defaultGCGraceHours
    /// The catalog in a PostgreSQL database shared by many machines (`postgres://USER@HOST:PORT/DB`,
    /// no password: it comes from PGPASSWORD or ~/.pgpass); nil: `catalog.sqlite` in the folder.
    public var catalog: String?

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case storeId = "store_id"
        case createdAt = "created_at"
        case processingTimeLimitSeconds = "processing_time_limit_seconds"
        case manifestBlockWaitSeconds = "manifest_block_wait_seconds"
        case scrubBytesPerSecond = "scrub_bytes_per_second"
        case scrubIntervalHours = "scrub_interval_hours"
        case settleSeconds = "settle_seconds"
        case quotas
        case mountAllowOther = "mount_allow_other"
        case objectMode = "object_mode"
        case trashDays = "trash_days"
        case bucket
        case catalog
        case gcGraceHours = "gc_grace_hours"
    }

    public static let defaultScrubBytesPerSecond = 32.0 * 1024 * 1024
    public static let defaultScrubIntervalHours = 7.0 * 24
    public static let defaultSettleSeconds = 0.5
    public static let defaultTrashDays = 7.0
    public static let defaultGCGraceHours = 24.0

    public init(format: String, formatVersion: Int, storeId: String, createdAt: Timestamp,
                processingTimeLimitSeconds: Double, manifestBlockWaitSeconds: Double = 600,
                scrubBytesPerSecond: Double = defaultScrubBytesPerSecond, scrubIntervalHours: Double = defaultScrubIntervalHours,
                settleSeconds: Double = defaultSettleSeconds) {
        self.format = format
        self.formatVersion = formatVersion
        self.storeId = storeId
        self.createdAt = createdAt
        self.processingTimeLimitSeconds = processingTimeLimitSeconds
        self.manifestBlockWaitSeconds = manifestBlockWaitSeconds
        self.scrubBytesPerSecond = scrubBytesPerSecond
        self.scrubIntervalHours = scrubIntervalHours
        self.settleSeconds = settleSeconds
    }

    /// Settings added after format version 1 shipped take their defaults when absent.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(format: try c.decode(String.self, forKey: .format), formatVersion: try c.decode(Int.self, forKey: .formatVersion),
                  storeId: try c.decode(String.self, forKey: .storeId), createdAt: try c.decode(Timestamp.self, forKey: .createdAt),
                  processingTimeLimitSeconds: try c.decode(Double.self, forKey: .processingTimeLimitSeconds),
                  manifestBlockWaitSeconds: try c.decodeIfPresent(Double.self, forKey: .manifestBlockWaitSeconds) ?? 600,
                  scrubBytesPerSecond: try c.decodeIfPresent(Double.self, forKey: .scrubBytesPerSecond) ?? Self.defaultScrubBytesPerSecond,
                  scrubIntervalHours: try c.decodeIfPresent(Double.self, forKey: .scrubIntervalHours) ?? Self.defaultScrubIntervalHours,
                  settleSeconds: try c.decodeIfPresent(Double.self, forKey: .settleSeconds) ?? Self.defaultSettleSeconds)
        quotas = try c.decodeIfPresent(QuotaConfig.self, forKey: .quotas)
        mountAllowOther = try c.decodeIfPresent(Bool.self, forKey: .mountAllowOther) ?? true
        objectMode = try c.decodeIfPresent(String.self, forKey: .objectMode)
        trashDays = try c.decodeIfPresent(Double.self, forKey: .trashDays) ?? Self.defaultTrashDays
        bucket = try c.decodeIfPresent(BucketConfig.self, forKey: .bucket)
        catalog = try c.decodeIfPresent(String.self, forKey: .catalog)
        gcGraceHours = try c.decodeIfPresent(Double.self, forKey: .gcGraceHours) ?? Self.defaultGCGraceHours
        guard gcGraceHours >= 0, gcGraceHours.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: .gcGraceHours, in: c, debugDescription: "gc_grace_hours must be a number of hours, 0 or more")
        }
        guard trashDays >= 0, trashDays.isFinite else {
            throw DecodingError.dataCorruptedError(forKey: .trashDays, in: c, debugDescription: "trash_days must be a number of days, 0 or more")
        }
        if let objectMode, Self.permissionBits(objectMode) == nil {
            throw DecodingError.dataCorruptedError(forKey: .objectMode, in: c,
                                                   debugDescription: "object_mode '\(objectMode)' is not octal permission bits (e.g. \"0640\")")
        }
    }

    static func permissionBits(_ text: String) -> UInt32? {
        guard let bits = UInt32(text, radix: 8), bits <= 0o777 else { return nil }
        return bits
    }

    /// A new object's mode from its file's: at most `object_mode` allows.
    public func objectMode(from source: UInt32) -> UInt32 {
        (objectMode.flatMap(Self.permissionBits) ?? 0o777) & source & 0o777
    }

    public var blobLayout: BlobLayout { formatVersion >= 2 ? .oneLevel : .twoLevel }

    public static func fresh() -> StoreConfig {
        let now = Timestamp.now
        let id = String(LakeID.make(.object, at: now.milliseconds).rawValue.dropFirst(4))
        return StoreConfig(format: "lake-store", formatVersion: currentFormatVersion, storeId: "store-" + id,
                           createdAt: now, processingTimeLimitSeconds: 600)
    }
}

/// A store's blobs in S3 (`lake init --blobs s3://…`): the bucket's address (no credentials: they
/// come from the environment) and this node's cache of whole, verified blobs.
public struct BucketConfig: Codable, Sendable, Equatable {
    /// `s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION`
    public var url: String
    /// The cache folder (absolute); it also spools uploads.
    public var cache: String
    /// The most the cache holds; it also leaves 5 % of its disk free.
    public var cacheBytes: Int64

    public init(url: String, cache: String, cacheBytes: Int64) {
        self.url = url
        self.cache = cache
        self.cacheBytes = cacheBytes
    }

    enum CodingKeys: String, CodingKey {
        case url
        case cache
        case cacheBytes = "cache_bytes"
    }
}
