import LakeSystem

/// Problems with the store folder itself.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case noStore(path: String)
    case notAStore(path: String)
    case unsupportedStoreVersion(path: String, version: Int, supported: Int)
    case unreadableConfig(path: String, reason: String)
    /// The store's bucket cannot be used (address, credentials, or the server's answer).
    case bucket(url: String, reason: String)
    /// The store's PostgreSQL catalog cannot be used (address, password, or the server's answer).
    case catalog(url: String, reason: String)

    public var description: String {
        switch self {
        case .noStore(let path):
            "no Lake store at \(path); create one with `lake init --store \(path)`"
        case .notAStore(let path):
            "\(path) is not a Lake store (it has no lake.json); point --store or LAKE_STORE at a store, or create one with `lake init --store DIR` in an empty folder"
        case .unsupportedStoreVersion(let path, let version, let supported):
            "the store at \(path) has format version \(version), newer than this lake supports (\(supported)); upgrade lake to use it"
        case .unreadableConfig(let path, let reason):
            "cannot read the store configuration \(path): \(reason)"
        case .bucket(let url, let reason):
            "the store's blobs are in \(url), which cannot be used: \(reason)"
        case .catalog(let url, let reason):
            "the store's catalog is in \(url), which cannot be used: \(reason)"
        }
    }
}
