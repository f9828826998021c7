import Foundation
import LakeModel

/// `lake.json`, the marker and configuration of a store folder.
public struct StoreConfig: Codable, Sendable {
    public static let currentFormatVersion = 1
    public static let fileName = "lake.json"

    public var format: String
    public var formatVersion: Int
    public var storeId: String
    public var createdAt: Timestamp
    /// Seconds a processor may run on one object before it is stopped.
    public var processingTimeLimitSeconds: Double

    enum CodingKeys: String, CodingKey {
        case format
        case formatVersion = "format_version"
        case storeId = "store_id"
        case createdAt = "created_at"
        case processingTimeLimitSeconds = "processing_time_limit_seconds"
    }

    public static func fresh() -> StoreConfig {
        let now = Timestamp.now
        let id = String(LakeID.make(.object, at: now.milliseconds).rawValue.dropFirst(4))
        return StoreConfig(format: "lake-store", formatVersion: currentFormatVersion, storeId: "store-" + id,
                           createdAt: now, processingTimeLimitSeconds: 600)
    }
}
