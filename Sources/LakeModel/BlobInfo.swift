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

/// A stored blob found missing or damaged: its bytes are never served as good ones again until
/// `lake verify` finds them intact (restored from a copy, say).
public struct BlobDamage: Hashable, Sendable, Codable {
    /// What found it: `verify`, `scrub` (the mount daemon's scrubber), `open` (a mount's check of
    /// the blob file's presence and size), `get` (`lake object get`'s re-hash).
    public var foundBy: String
    public var foundAt: Timestamp
    public var reason: String

    public init(foundBy: String, foundAt: Timestamp, reason: String) {
        self.foundBy = foundBy
        self.foundAt = foundAt
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case foundBy = "found_by"
        case foundAt = "found_at"
    }
}

/// A stored blob as an object sees it.
public struct BlobInfo: Hashable, Sendable, Codable {
    public var id: String
    public var size: Int64
    public var uri: String
    public var contentHash: ContentHash
    /// Set once the blob was found missing or damaged.
    public var damage: BlobDamage?

    public init(id: String, size: Int64, uri: String, contentHash: ContentHash, damage: BlobDamage? = nil) {
        self.id = id
        self.size = size
        self.uri = uri
        self.contentHash = contentHash
        self.damage = damage
    }

    enum CodingKeys: String, CodingKey {
        case id, size, uri, damage
        case contentHash = "content_hash"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        size = try c.decode(Int64.self, forKey: .size)
        uri = try c.decode(String.self, forKey: .uri)
        contentHash = try c.decode(ContentHash.self, forKey: .contentHash)
        damage = try c.decodeIfPresent(BlobDamage.self, forKey: .damage)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(size, forKey: .size)
        try c.encode(uri, forKey: .uri)
        try c.encode(contentHash, forKey: .contentHash)
        try c.encode(damage, forKey: .damage)   // null when intact: the key is always there
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

    /// `object_id` is null, not left out, while a reference has no object (json.md).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(objectId, forKey: .objectId)
    }
}
