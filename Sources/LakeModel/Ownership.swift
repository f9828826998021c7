/// Who owns an object and who may read it, as on a file: the uid and gid of the account that
/// made it and permission bits (`mode`, e.g. 0o640). The mount shows them and the kernel checks
/// them; the owner or root may change `mode` and `gid` later. In JSON the mode is an octal string.
public struct Ownership: Hashable, Sendable, Codable {
    public var uid: UInt32
    public var gid: UInt32
    public var mode: UInt32

    public init(uid: UInt32, gid: UInt32, mode: UInt32) {
        self.uid = uid
        self.gid = gid
        self.mode = mode & 0o777
    }

    /// Objects made before ownership was recorded: root's, readable by everyone (as they were).
    public static let legacy = Ownership(uid: 0, gid: 0, mode: 0o444)

    enum CodingKeys: String, CodingKey { case uid, gid, mode }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        uid = try c.decode(UInt32.self, forKey: .uid)
        gid = try c.decode(UInt32.self, forKey: .gid)
        let text = try c.decode(String.self, forKey: .mode)
        guard let mode = UInt32(text, radix: 8), mode <= 0o777 else {
            throw DecodingError.dataCorruptedError(forKey: .mode, in: c, debugDescription: "mode '\(text)' is not octal permission bits")
        }
        self.mode = mode
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(uid, forKey: .uid)
        try c.encode(gid, forKey: .gid)
        try c.encode(octal, forKey: .mode)
    }

    /// The mode as `ls` people write it: "0640".
    public var octal: String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
