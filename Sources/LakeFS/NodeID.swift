/// Inode numbers. Fixed folders have small numbers; everything of an object derives from the
/// catalog's never-reused `seq` (`seq << 24 | local`), so a number always means the same thing.
public enum NodeID {
    public static let root: UInt64 = 1
    public static let incoming: UInt64 = 2
    public static let objects: UInt64 = 3
    public static let cases: UInt64 = 4
    public static let datasets: UInt64 = 5
    /// `datasets/by-name/`.
    public static let datasetNames: UInt64 = 6

    static let localBits: UInt64 = 24
    static let localMask: UInt64 = (1 << 24) - 1
    /// Entries under incoming/ live in their own range.
    static let incomingBase: UInt64 = 1 << 62

    public static func object(_ seq: Int64, local: UInt64 = 0) -> UInt64 { UInt64(seq) << localBits | local }

    /// The object seq and local index of a node, when it belongs to an object.
    static func split(_ node: UInt64) -> (seq: Int64, local: UInt64)? {
        guard node >= 1 << localBits, node < incomingBase else { return nil }
        return (Int64(node >> localBits), node & localMask)
    }

    /// Local indexes inside an object's folder.
    enum Local {
        static let folder: UInt64 = 0
        static let file: UInt64 = 1
        static let namedFile: UInt64 = 2
        static let json: UInt64 = 3
        static let firstReference: UInt64 = 4
    }
}
