/// What the mount needs of an object to show its folder and serve its files: names, the blob,
/// status, owner and times, and a manifest's references. No provisions, params or tags:
/// decoding those is most of reading a processed object (a VTK file's fields with their
/// histograms run to tens of KiB of JSON), and a walk over `objects/` needs none of them.
public struct ObjectOutline: Hashable, Sendable {
    public var id: LakeID
    public var fileName: String
    /// The stored blob's SHA-256 (hex) and size; nil until uploaded.
    public var blob: (id: String, size: Int64)? {
        get { blobID.map { ($0, blobSize) } }
        set { blobID = newValue?.id; blobSize = newValue?.size ?? 0 }
    }
    public var format: FileFormat
    public var status: ObjectStatus
    public var owner: Ownership
    public var contentReferences: [FileRef]
    public var createdAt: Timestamp
    public var uploadedAt: Timestamp?
    public var processedAt: Timestamp?

    private var blobID: String?
    private var blobSize: Int64 = 0

    public init(id: LakeID, fileName: String, blob: (id: String, size: Int64)?, format: FileFormat, status: ObjectStatus,
                owner: Ownership, contentReferences: [FileRef], createdAt: Timestamp, uploadedAt: Timestamp?, processedAt: Timestamp?) {
        self.id = id
        self.fileName = fileName
        self.format = format
        self.status = status
        self.owner = owner
        self.contentReferences = contentReferences
        self.createdAt = createdAt
        self.uploadedAt = uploadedAt
        self.processedAt = processedAt
        self.blob = blob
    }

    public init(_ object: LakeObject) {
        self.init(id: object.id, fileName: object.file.name, blob: object.file.blob.map { ($0.id, $0.size) }, format: object.format,
                  status: object.status, owner: object.owner, contentReferences: object.contentReferences,
                  createdAt: object.createdAt, uploadedAt: object.uploadedAt, processedAt: object.processedAt)
    }

    /// When the object last changed what the mount shows of it.
    public var modified: Timestamp { processedAt ?? uploadedAt ?? createdAt }
}
