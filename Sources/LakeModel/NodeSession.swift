/// A mount daemon alive on some machine of a store (many machines share a PostgreSQL catalog):
/// where it runs and when it last said so.
public struct NodeSession: Hashable, Sendable, Codable {
    /// `host:pid:start`, unique for the daemon's life.
    public var id: String
    public var host: String
    public var pid: Int32
    public var mountpoint: String
    public var startedAt: Timestamp
    public var heartbeatAt: Timestamp

    public init(id: String, host: String, pid: Int32, mountpoint: String, startedAt: Timestamp, heartbeatAt: Timestamp) {
        self.id = id
        self.host = host
        self.pid = pid
        self.mountpoint = mountpoint
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
    }

    enum CodingKeys: String, CodingKey {
        case id, host, pid, mountpoint
        case startedAt = "started_at"
        case heartbeatAt = "heartbeat_at"
    }
}
