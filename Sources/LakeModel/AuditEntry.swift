/// Who did something to the lake: an account's uid and name.
public struct Actor: Hashable, Sendable, Codable {
    public var uid: UInt32
    public var user: String
    public init(uid: UInt32, user: String) {
        self.uid = uid
        self.user = user
    }
}

/// One line of the audit trail (`lake log`): what was done, to what, by whom and when. The
/// trail is append-only: the catalog refuses to change or remove a line.
public struct AuditEntry: Hashable, Sendable, Codable {
    public var seq: Int64
    public var at: Timestamp
    public var uid: UInt32
    public var user: String
    /// `object.create`, `object.update`, `object.annotate`, `object.chmod`, `case.create`,
    /// `case.update`, `case.delete`, `case.chmod`, `dataset.create`, `dataset.update`,
    /// `dataset.add`, `dataset.remove`, `dataset.freeze`, `dataset.delete`, `dataset.chmod`, `mount`, `object.reprocess`
    /// (and the trash's `object.trash`, `object.restore`, `object.purge`).
    public var action: String
    public var id: LakeID?
    /// What changed, as JSON (the new values; names of what was added or removed).
    public var details: [String: JSONValue]

    public init(seq: Int64, at: Timestamp, uid: UInt32, user: String, action: String, id: LakeID?, details: [String: JSONValue]) {
        self.seq = seq
        self.at = at
        self.uid = uid
        self.user = user
        self.action = action
        self.id = id
        self.details = details
    }
}
