/// What the mount's listings show of objects, cases and datasets (read from the catalog).

/// What a folder listing shows of an object.
public struct ObjectSummary: Sendable, Hashable {
    public var seq: Int64
    public var id: LakeID
    public var status: ObjectStatus
    public var createdAt: Timestamp
    public var changedAt: Timestamp
    public var owner: Ownership
    public init(seq: Int64, id: LakeID, status: ObjectStatus, createdAt: Timestamp, changedAt: Timestamp,
                owner: Ownership = .legacy) {
        self.seq = seq
        self.id = id
        self.status = status
        self.createdAt = createdAt
        self.changedAt = changedAt
        self.owner = owner
    }
}

/// What a folder listing shows of a case or dataset.
public struct EntitySummary: Sendable, Hashable {
    public var id: LakeID
    /// The catalog's never-reused number of the case or dataset (the mount's inodes derive from it).
    public var seq: Int64
    /// Settled cases and frozen datasets never change.
    public var isSettled: Bool
    public var createdAt: Timestamp
    public var owner: Ownership
    /// A frozen dataset's name (`frozenDatasetSummaries`); nil otherwise.
    public var name: String?
    public init(id: LakeID, seq: Int64, isSettled: Bool, createdAt: Timestamp, owner: Ownership = .legacy, name: String? = nil) {
        self.id = id
        self.seq = seq
        self.isSettled = isSettled
        self.name = name
        self.createdAt = createdAt
        self.owner = owner
    }
}
