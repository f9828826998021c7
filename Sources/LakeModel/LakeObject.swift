/// An object of the lake: one uploaded file, what it provides, and its metadata.
public struct LakeObject: Hashable, Sendable, Codable {
    public var id: LakeID
    public var name: String
    public var description: String
    public var file: ObjectFile
    public var format: FileFormat
    public var status: ObjectStatus
    public var failureReason: String?
    public var params: [String: Param]
    public var tags: [String: JSONValue]
    public var provisions: [Provision]
    public var contentReferences: [FileRef]
    public var annotations: [FieldAnnotation]
    public var warnings: [String]
    public var geometryUnits: String?
    public var createdAt: Timestamp
    public var uploadedAt: Timestamp?
    public var processedAt: Timestamp?
    public var createdBy: String
    /// Its owner and permission bits (the creator's uid and gid; the mode of the file it came from).
    public var owner: Ownership
    /// Set while the object is in the trash (`lake object rm`): hidden from listings, filters,
    /// the mount and processing until restored or purged.
    public var trash: TrashEntry?
    /// A processed VTU's, VTP's or VTM's mesh summary; nil otherwise (and for objects processed
    /// before Lake made one).
    public var mesh: MeshSummary?

    public init(id: LakeID, name: String, description: String, file: ObjectFile, format: FileFormat,
                status: ObjectStatus, failureReason: String? = nil, params: [String: Param] = [:],
                tags: [String: JSONValue] = [:], provisions: [Provision] = [], contentReferences: [FileRef] = [],
                annotations: [FieldAnnotation] = [], warnings: [String] = [], geometryUnits: String? = nil,
                createdAt: Timestamp, uploadedAt: Timestamp? = nil, processedAt: Timestamp? = nil, createdBy: String,
                owner: Ownership = .legacy, trash: TrashEntry? = nil, mesh: MeshSummary? = nil) {
        self.id = id
        self.name = name
        self.description = description
        self.file = file
        self.format = format
        self.status = status
        self.failureReason = failureReason
        self.params = params
        self.tags = tags
        self.provisions = provisions
        self.contentReferences = contentReferences
        self.annotations = annotations
        self.warnings = warnings
        self.geometryUnits = geometryUnits
        self.createdAt = createdAt
        self.uploadedAt = uploadedAt
        self.processedAt = processedAt
        self.createdBy = createdBy
        self.owner = owner
        self.trash = trash
        self.mesh = mesh
    }

    /// Bytes stored for the object (0 until uploaded), as Luminary's `Object.size`.
    public var size: Int64 { file.blob?.size ?? 0 }

    enum CodingKeys: String, CodingKey {
        case id, name, description, file, format, status, params, tags, provisions, annotations, warnings, size
        case failureReason = "failure_reason"
        case contentReferences = "content_references"
        case geometryUnits = "geometry_units"
        case createdAt = "created_at"
        case uploadedAt = "uploaded_at"
        case processedAt = "processed_at"
        case createdBy = "created_by"
        case owner
        case kind
        case trash
        case mesh
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(LakeID.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decode(String.self, forKey: .description)
        file = try c.decode(ObjectFile.self, forKey: .file)
        format = try c.decode(FileFormat.self, forKey: .format)
        status = try c.decode(ObjectStatus.self, forKey: .status)
        failureReason = try c.decodeIfPresent(String.self, forKey: .failureReason)
        params = try c.decode([String: Param].self, forKey: .params)
        tags = try c.decode([String: JSONValue].self, forKey: .tags)
        provisions = try c.decode([Provision].self, forKey: .provisions)
        contentReferences = try c.decode([FileRef].self, forKey: .contentReferences)
        annotations = try c.decode([FieldAnnotation].self, forKey: .annotations)
        warnings = try c.decode([String].self, forKey: .warnings)
        geometryUnits = try c.decodeIfPresent(String.self, forKey: .geometryUnits)
        createdAt = try c.decode(Timestamp.self, forKey: .createdAt)
        uploadedAt = try c.decodeIfPresent(Timestamp.self, forKey: .uploadedAt)
        processedAt = try c.decodeIfPresent(Timestamp.self, forKey: .processedAt)
        createdBy = try c.decode(String.self, forKey: .createdBy)
        owner = try c.decodeIfPresent(Ownership.self, forKey: .owner) ?? .legacy
        trash = try c.decodeIfPresent(TrashEntry.self, forKey: .trash)
        mesh = try c.decodeIfPresent(MeshSummary.self, forKey: .mesh)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("object", forKey: .kind)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(file, forKey: .file)
        try c.encode(size, forKey: .size)
        try c.encode(format, forKey: .format)
        try c.encode(status, forKey: .status)
        try c.encode(failureReason, forKey: .failureReason)
        try c.encode(params, forKey: .params)
        try c.encode(tags, forKey: .tags)
        try c.encode(provisions, forKey: .provisions)
        try c.encode(contentReferences, forKey: .contentReferences)
        try c.encode(annotations, forKey: .annotations)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(geometryUnits, forKey: .geometryUnits)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(uploadedAt, forKey: .uploadedAt)
        try c.encode(processedAt, forKey: .processedAt)
        try c.encode(createdBy, forKey: .createdBy)
        try c.encode(owner, forKey: .owner)
        // Only while trashed: a frozen dataset's object.json files never change, so objects
        // outside the trash keep the keys they always had.
        try c.encodeIfPresent(trash, forKey: .trash)
        // Only where there is one (a processed VTU, VTP or VTM): the JSON of every other object,
        // and of every object processed before, is what it was.
        try c.encodeIfPresent(mesh, forKey: .mesh)
    }
}

/// When and by whom an object was moved to the trash.
public struct TrashEntry: Hashable, Sendable, Codable {
    public var trashedAt: Timestamp
    public var trashedBy: String

    public init(trashedAt: Timestamp, trashedBy: String) {
        self.trashedAt = trashedAt
        self.trashedBy = trashedBy
    }

    enum CodingKeys: String, CodingKey {
        case trashedAt = "trashed_at"
        case trashedBy = "trashed_by"
    }
}
