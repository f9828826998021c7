/// A case's lifecycle, derived from its members: UNSETTLED while one is not terminal, then READY
/// or INVALID for good (members never change).
public enum CaseStatus: String, Codable, Sendable, CaseIterable {
    case unsettled = "UNSETTLED"
    case ready = "READY"
    case invalid = "INVALID"
}

/// One member object of a case: an optional role label and how its params and field labels
/// enter the case. A key absent from a mapping passes through; nil drops it; a string renames it.
public struct CaseMember: Hashable, Sendable, Codable {
    public var objectId: LakeID
    public var label: String?
    public var paramMapping: [String: String?]
    public var fieldMapping: [String: String?]

    public init(objectId: LakeID, label: String? = nil, paramMapping: [String: String?] = [:],
                fieldMapping: [String: String?] = [:]) {
        self.objectId = objectId
        self.label = label
        self.paramMapping = paramMapping
        self.fieldMapping = fieldMapping
    }

    enum CodingKeys: String, CodingKey {
        case label
        case objectId = "object_id"
        case paramMapping = "param_mapping"
        case fieldMapping = "field_mapping"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(objectId, forKey: .objectId)
        try c.encode(label, forKey: .label)
        // Dropped keys are explicit nulls, so the JSON says what the mapping does.
        try c.encode(paramMapping.mapValues { $0.map(JSONValue.string) ?? .null }, forKey: .paramMapping)
        try c.encode(fieldMapping.mapValues { $0.map(JSONValue.string) ?? .null }, forKey: .fieldMapping)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        objectId = try c.decode(LakeID.self, forKey: .objectId)
        label = try c.decodeIfPresent(String.self, forKey: .label)
        func mapping(_ key: CodingKeys) throws -> [String: String?] {
            try c.decode([String: JSONValue].self, forKey: key).mapValues { value -> String? in
                if case .string(let name) = value { return name }
                return nil
            }
        }
        paramMapping = try mapping(.paramMapping)
        fieldMapping = try mapping(.fieldMapping)
    }
}

/// A group of objects that together describe one simulation case.
public struct LakeCase: Hashable, Sendable, Codable {
    public var id: LakeID
    public var name: String
    public var status: CaseStatus
    public var failureReason: String?
    public var members: [CaseMember]
    /// The members' params after mapping, plus the case's own.
    public var params: [String: Param]
    /// Params given to the case itself (kept apart so the union can be recomputed).
    public var caseParams: [String: Param]
    /// The union of the members' provisions after field mapping (filled once READY).
    public var provisions: [Provision]
    public var formats: [String]
    public var tags: [String: JSONValue]
    public var createdAt: Timestamp
    public var createdBy: String
    /// Its owner and permission bits: who may read it (and, for a dataset, every file in it:
    /// the dataset is the grant) through the mount.
    public var owner: Ownership
    /// The members' mesh summaries pooled, once the case is READY and any member has one.
    public var mesh: MeshSummary?

    public init(id: LakeID, name: String, status: CaseStatus, failureReason: String? = nil, members: [CaseMember],
                params: [String: Param], caseParams: [String: Param] = [:], provisions: [Provision] = [],
                formats: [String] = [], tags: [String: JSONValue] = [:], createdAt: Timestamp, createdBy: String,
                owner: Ownership = .legacy) {
        self.id = id
        self.name = name
        self.status = status
        self.failureReason = failureReason
        self.members = members
        self.params = params
        self.caseParams = caseParams
        self.provisions = provisions
        self.formats = formats
        self.tags = tags
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.owner = owner
    }

    enum CodingKeys: String, CodingKey {
        case kind, id, name, status, params, provisions, formats, tags
        case failureReason = "failure_reason"
        case members = "objects"
        case caseParams = "case_params"
        case createdAt = "created_at"
        case createdBy = "created_by"
        case owner
        case mesh
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("case", forKey: .kind)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(status, forKey: .status)
        try c.encode(failureReason, forKey: .failureReason)
        try c.encode(members, forKey: .members)
        try c.encode(params, forKey: .params)
        try c.encode(caseParams, forKey: .caseParams)
        try c.encode(provisions, forKey: .provisions)
        try c.encode(formats, forKey: .formats)
        try c.encode(tags, forKey: .tags)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(createdBy, forKey: .createdBy)
        try c.encode(owner, forKey: .owner)
        // Only where there is one: the JSON of cases settled before is what it was.
        try c.encodeIfPresent(mesh, forKey: .mesh)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(LakeID.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        status = try c.decode(CaseStatus.self, forKey: .status)
        failureReason = try c.decodeIfPresent(String.self, forKey: .failureReason)
        members = try c.decode([CaseMember].self, forKey: .members)
        params = try c.decode([String: Param].self, forKey: .params)
        caseParams = try c.decodeIfPresent([String: Param].self, forKey: .caseParams) ?? [:]
        provisions = try c.decode([Provision].self, forKey: .provisions)
        formats = try c.decode([String].self, forKey: .formats)
        tags = try c.decode([String: JSONValue].self, forKey: .tags)
        createdAt = try c.decode(Timestamp.self, forKey: .createdAt)
        createdBy = try c.decode(String.self, forKey: .createdBy)
        owner = try c.decodeIfPresent(Ownership.self, forKey: .owner) ?? .legacy
        mesh = try c.decodeIfPresent(MeshSummary.self, forKey: .mesh)
    }

    /// Folder names for the members in the mount: the role label, else the object's file name,
    /// made unique with `-2`, `-3`… in member order.
    public func memberFolderNames(fileNames: [LakeID: String]) -> [String] {
        var used: Set<String> = ["case.json"]
        return members.map { member in
            var base = member.label ?? fileNames[member.objectId] ?? member.objectId.rawValue
            if base.isEmpty || base == "." || base == ".." || base.contains("/") { base = member.objectId.rawValue }
            var name = base
            var n = 2
            while used.contains(name) {
                name = "\(base)-\(n)"
                n += 1
            }
            used.insert(name)
            return name
        }
    }
}
