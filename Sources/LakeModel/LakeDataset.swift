/// A dataset's status, derived on every read from its cases.
public enum DatasetStatus: String, Codable, Sendable {
    case unsettled = "UNSETTLED"
    case ready = "READY"
    case invalid = "INVALID"

    /// INVALID if any case is, else UNSETTLED if any is, else READY (an empty dataset is READY).
    public static func derived(from cases: some Sequence<CaseStatus>) -> DatasetStatus {
        var unsettled = false
        for status in cases {
            if status == .invalid { return .invalid }
            if status == .unsettled { unsettled = true }
        }
        return unsettled ? .unsettled : .ready
    }
}

/// One entry of a dataset's `params_schema`.
public struct ParameterDef: Hashable, Sendable, Codable {
    public var type: String
    public var defaultReference: [Double]?
    public var description: String?

    public init(type: String, defaultReference: [Double]? = nil, description: String? = nil) {
        self.type = type
        self.defaultReference = defaultReference
        self.description = description
    }

    enum CodingKeys: String, CodingKey {
        case type, description
        case defaultReference = "default_reference"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(defaultReference, forKey: .defaultReference)
        try c.encode(description, forKey: .description)
    }
}

/// A set of cases; frozen, it never changes again and can be mounted for training.
public struct LakeDataset: Hashable, Sendable, Codable {
    public var id: LakeID
    public var name: String
    public var description: String
    public var status: DatasetStatus
    /// Why the dataset is INVALID (derived with the status).
    public var failureReason: String?
    public var frozenAt: Timestamp?
    public var caseIds: [LakeID]
    public var paramsSchema: [String: ParameterDef]
    public var provisions: [Provision]
    public var formats: [String]
    public var tags: [String: JSONValue]
    public var createdAt: Timestamp
    public var createdBy: String
    /// Its owner and permission bits: who may read it (and, for a dataset, every file in it:
    /// the dataset is the grant) through the mount.
    public var owner: Ownership

    public init(id: LakeID, name: String, description: String, status: DatasetStatus, frozenAt: Timestamp? = nil,
                caseIds: [LakeID], paramsSchema: [String: ParameterDef] = [:], provisions: [Provision] = [],
                formats: [String] = [], tags: [String: JSONValue] = [:], createdAt: Timestamp, createdBy: String,
                owner: Ownership = .legacy) {
        self.id = id
        self.name = name
        self.description = description
        self.status = status
        self.frozenAt = frozenAt
        self.caseIds = caseIds
        self.paramsSchema = paramsSchema
        self.provisions = provisions
        self.formats = formats
        self.tags = tags
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.owner = owner
    }

    public var isFrozen: Bool { frozenAt != nil }

    enum CodingKeys: String, CodingKey {
        case kind, id, name, description, status, provisions, formats, tags
        case frozenAt = "frozen_at"
        case failureReason = "failure_reason"
        case caseIds = "case_ids"
        case paramsSchema = "params_schema"
        case createdAt = "created_at"
        case createdBy = "created_by"
        case owner
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("dataset", forKey: .kind)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(status, forKey: .status)
        try c.encode(failureReason, forKey: .failureReason)
        try c.encode(frozenAt, forKey: .frozenAt)
        try c.encode(caseIds, forKey: .caseIds)
        try c.encode(paramsSchema, forKey: .paramsSchema)
        try c.encode(provisions, forKey: .provisions)
        try c.encode(formats, forKey: .formats)
        try c.encode(tags, forKey: .tags)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(createdBy, forKey: .createdBy)
        try c.encode(owner, forKey: .owner)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(LakeID.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        description = try c.decode(String.self, forKey: .description)
        status = try c.decode(DatasetStatus.self, forKey: .status)
        failureReason = try c.decodeIfPresent(String.self, forKey: .failureReason)
        frozenAt = try c.decodeIfPresent(Timestamp.self, forKey: .frozenAt)
        caseIds = try c.decode([LakeID].self, forKey: .caseIds)
        paramsSchema = try c.decode([String: ParameterDef].self, forKey: .paramsSchema)
        provisions = try c.decode([Provision].self, forKey: .provisions)
        formats = try c.decode([String].self, forKey: .formats)
        tags = try c.decode([String: JSONValue].self, forKey: .tags)
        createdAt = try c.decode(Timestamp.self, forKey: .createdAt)
        createdBy = try c.decode(String.self, forKey: .createdBy)
        owner = try c.decodeIfPresent(Ownership.self, forKey: .owner) ?? .legacy
    }
}
