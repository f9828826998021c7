/// An entry of the mount's `incoming/`: a folder, or a file's receipt naming the object it
/// became (or is becoming). Kept in the catalog so receipts outlive the mount and keep what
/// `cp -p` and `rsync -a` set on them. Names are bytes, as the kernel gives them: two names that
/// differ in any byte (NFC and NFD forms of one word, invalid UTF-8) are two entries.
public struct Receipt: Sendable, Hashable {
    /// The catalog's number for the entry (the mount's inode numbers derive from it); 0 until stored.
    public var node: Int64
    /// The folder's `node`, 0 for `incoming/` itself.
    public var parent: Int64
    public var name: [UInt8]
    public var isFolder: Bool
    public var objectID: LakeID?
    public var blobID: String?
    public var size: Int64
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Nanoseconds since the epoch (rsync compares them).
    public var modified: Int64
    public var accessed: Int64

    public init(node: Int64 = 0, parent: Int64, name: [UInt8], isFolder: Bool, objectID: LakeID? = nil, blobID: String? = nil,
                size: Int64 = 0, mode: UInt32, uid: UInt32, gid: UInt32, modified: Int64, accessed: Int64) {
        self.node = node
        self.parent = parent
        self.name = name
        self.isFolder = isFolder
        self.objectID = objectID
        self.blobID = blobID
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.modified = modified
        self.accessed = accessed
    }
}
