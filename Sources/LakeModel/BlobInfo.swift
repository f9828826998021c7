/// Hashes of stored content: SHA-256 (the blob's identity, known at upload) and MD5 (Luminary's
/// `Hash.md5`; the `etag` is the MD5 hex, as S3 gives for a single-part upload). MD5 is computed
/// by processing, so it is null until the object has been processed.
public struct ContentHash: Hashable, Sendable, Codable {
    public var sha256: String
    public var md5: String?
    public var etag: String?

    public init(sha256: String, md5: String?) {
        self.sha256 = sha256
        self.md5 = md5
        self.etag = md5
    }
}

/// A stored blob as an object sees it.
public struct BlobInfo: Hashable, Sendable, Codable {
    public var id: String
    public var size: Int64
    public var uri: String
    public var contentHash: ContentHash

    public init(id: String, size: Int64, uri: String, contentHash: ContentHash) {
        self.id = id
        self.size = size
        self.uri = uri
        self.contentHash = contentHash
    }

    enum CodingKeys: String, CodingKey {
        case id, size, uri
        case contentHash = "content_hash"
    }
}

/// The object's file: the name it was uploaded with and its blob (absent until uploaded).
public struct ObjectFile: Hashable, Sendable, Codable {
    public var name: String
    public var blob: BlobInfo?

    public init(name: String, blob: BlobInfo?) {
        self.name = name
        self.blob = blob
    }
}

/// A VTM's reference to a child object, by the verbatim relative path of its manifest.
public struct FileRef: Hashable, Sendable, Codable {
    public var path: String
    public var objectId: LakeID?

    public init(path: String, objectId: LakeID?) {
        self.path = path
        self.objectId = objectId
    }

    enum CodingKeys: String, CodingKey {
        case path
        case objectId = "object_id"
    }
}
