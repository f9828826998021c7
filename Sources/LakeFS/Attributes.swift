import LakeSystem

/// What `stat` says about a node.
public struct Attributes: Sendable, Equatable {
    public enum Kind: Sendable { case directory, file, symlink }
    public var node: UInt64
    public var kind: Kind
    public var size: Int64
    public var mode: UInt32
    public var uid: UInt32 = 0
    public var gid: UInt32 = 0
    public var modified: Timestamp
    /// Times to the nanosecond, where they were set exactly (receipts keep what `touch -d`,
    /// `cp -p` and `rsync -a` set; rsync compares nanoseconds).
    public var exactModified: Int64?
    public var exactAccessed: Int64?
    public var links: UInt32 { kind == .directory ? 2 : 1 }

    public static func directory(_ node: UInt64, writable: Bool = false, modified: Timestamp) -> Attributes {
        Attributes(node: node, kind: .directory, size: 4096, mode: writable ? 0o755 : 0o555, modified: modified)
    }

    /// A symbolic link to `target` (its size is the target's length, as lstat reports).
    public static func symlink(_ node: UInt64, to target: String, modified: Timestamp) -> Attributes {
        Attributes(node: node, kind: .symlink, size: Int64(target.utf8.count), mode: 0o777, modified: modified)
    }

    public static func file(_ node: UInt64, size: Int64, writable: Bool = false, modified: Timestamp) -> Attributes {
        Attributes(node: node, kind: .file, size: size, mode: writable ? 0o644 : 0o444, modified: modified)
    }

    /// A stored node shown as its object's: that owner and group, the object's read bits (a
    /// folder can be entered by whoever may read it; nothing stored is writable).
    func owned(by owner: Ownership) -> Attributes {
        var owned = self
        owned.uid = owner.uid
        owned.gid = owner.gid
        let read = owner.mode & 0o444
        owned.mode = kind == .directory ? read | (read >> 2) : read
        return owned
    }
}

/// A name found in a folder: its node, attributes and how long the kernel may cache them (the
/// name and the attributes separately: a file being written keeps its attributes for a moment
/// but its name is asked again).
public struct Entry: Sendable {
    public var attributes: Attributes
    public var timeout: Double
    public var attributeTimeout: Double
    public init(attributes: Attributes, timeout: Double, attributeTimeout: Double? = nil) {
        self.attributes = attributes
        self.timeout = timeout
        self.attributeTimeout = attributeTimeout ?? timeout
    }
    public var node: UInt64 { attributes.node }
}

/// One line of a folder listing.
public struct DirectoryEntry: Sendable {
    public var name: FileName
    public var attributes: Attributes
    public var timeout: Double
    /// False when only the node and its kind are known: the size would cost work nobody may
    /// want (an `object.json` not yet made). A listing then hands the kernel the name alone
    /// and the kernel looks the file up if someone stats it; `find -name` never does.
    public var isDescribed: Bool

    public init(name: FileName, attributes: Attributes, timeout: Double, isDescribed: Bool = true) {
        self.name = name
        self.attributes = attributes
        self.timeout = timeout
        self.isDescribed = isDescribed
    }

    public init(name: String, attributes: Attributes, timeout: Double, isDescribed: Bool = true) {
        self.init(name: FileName(name), attributes: attributes, timeout: timeout, isDescribed: isDescribed)
    }
}

import LakeModel
