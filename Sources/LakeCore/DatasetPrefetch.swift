import LakeCatalog
import LakeModel

/// `lake dataset prefetch`: every blob a frozen dataset's files are stored in, brought into this
/// node's cache (verified on the way in, as any fetch) before a training run reads them, so its
/// first epoch reads local disk. On a store whose blobs are on this machine there is nothing to do.
public struct DatasetPrefetch: Sendable {
    public struct Report: Codable, Sendable, Equatable {
        public var blobs = 0
        public var bytes: Int64 = 0
        public var fetched = 0
        public var fetchedBytes: Int64 = 0
        public var alreadyHere = 0

        enum CodingKeys: String, CodingKey {
            case blobs, bytes, fetched
            case fetchedBytes = "fetched_bytes"
            case alreadyHere = "already_here"
        }
    }

    public let store: Store
    public init(store: Store) { self.store = store }

    /// The dataset's blobs and their sizes, largest first (one progress total for them all).
    public func blobs(of id: LakeID) throws -> [(id: String, size: Int64)] {
        let snapshot = try DatasetSnapshot.take(id, from: store.catalog)
        var sizes: [String: Int64] = [:]
        for member in snapshot.objects { if let blob = member.object.file.blob { sizes[blob.id] = blob.size } }
        return sizes.map { ($0.key, $0.value) }.sorted { $0.size != $1.size ? $0.size > $1.size : $0.id < $1.id }
    }

    /// Fetches what is missing; `progress` gets the bytes done of the dataset's total (a blob
    /// already here counts at once).
    public func run(_ id: LakeID, progress: (Int64, Int64) -> Void = { _, _ in }) throws -> Report {
        let all = try blobs(of: id)
        var report = Report(blobs: all.count, bytes: all.reduce(0) { $0 + $1.size })
        // Fetching more than the cache holds would drop the first blobs to make room for the last.
        if let bucket = store.config.bucket, report.bytes > bucket.cacheBytes {
            throw TooLarge(dataset: id, bytes: report.bytes, cacheBytes: bucket.cacheBytes)
        }
        var done: Int64 = 0
        for blob in all {
            let fetched = try store.blobs.warm(blob.id) { progress(done + $0, report.bytes) }
            done += blob.size
            progress(done, report.bytes)
            if fetched {
                report.fetched += 1
                report.fetchedBytes += blob.size
            } else {
                report.alreadyHere += 1
            }
        }
        return report
    }
}

extension DatasetPrefetch {
    public struct TooLarge: Error, CustomStringConvertible {
        public var dataset: LakeID
        public var bytes: Int64
        public var cacheBytes: Int64
        public var description: String {
            "dataset \(dataset) holds \(bytes) bytes, more than this node's cache holds (\(cacheBytes) bytes, cache_bytes in lake.json, "
                + "set by lake init --cache-size): nothing was fetched; give the cache more room, or let reads fetch as they go"
        }
    }
}
