import LakeModel

/// Everything the mount shows of one object, built once from the catalog and then answered from
/// memory: its folder (`file`, `<file-name>`, `object.json`, a manifest's referenced files at
/// their relative paths) and the xattrs of the object and of each referenced object.
final class ObjectView: Sendable {
    enum Content: Sendable {
        case folder([String: UInt64])           // name → local index
        case blob(id: String, size: Int64)
        case json
    }

    struct Node: Sendable {
        var content: Content
        /// Whose xattrs the node carries: 0 for the object, 1… for referenced objects.
        var entity: Int
    }

    let seq: Int64
    let object: LakeObject
    let nodes: [UInt64: Node]
    let xattrs: [LazyXattrs]
    let json: LazyBytes
    let modified: Timestamp

    /// Terminal objects never change their content, so the kernel may cache them for long.
    var isSettled: Bool { object.status.isTerminal }

    init(seq: Int64, object: LakeObject, referenced: [LakeID: LakeObject]) {
        self.seq = seq
        self.object = object
        modified = object.processedAt ?? object.uploadedAt ?? object.createdAt
        json = LazyBytes.json(object)
        var nodes: [UInt64: Node] = [:]
        var top: [String: UInt64] = ["object.json": NodeID.Local.json]
        nodes[NodeID.Local.json] = Node(content: .json, entity: 0)
        if let blob = object.file.blob {
            top["file"] = NodeID.Local.file
            nodes[NodeID.Local.file] = Node(content: .blob(id: blob.id, size: blob.size), entity: 0)
            let name = object.file.name
            if name != "file" && name != "object.json" && !name.isEmpty && !name.contains("/") {
                top[name] = NodeID.Local.namedFile
                nodes[NodeID.Local.namedFile] = Node(content: .blob(id: blob.id, size: blob.size), entity: 0)
            }
        }
        var xattrs = [LazyXattrs { Xattrs.of(object) }]
        var folders: [UInt64: [String: UInt64]] = [NodeID.Local.folder: top]
        var next = NodeID.Local.firstReference
        for reference in object.contentReferences {
            guard let id = reference.objectId, let child = referenced[id], let blob = child.file.blob,
                  case .inside(let path) = ManifestReference.resolve(reference.path) else { continue }
            let parts = path.split(separator: "/").map(String.init)
            var folder = NodeID.Local.folder
            var blocked = false
            for part in parts.dropLast() {
                if let existing = folders[folder]?[part] {
                    guard folders[existing] != nil else { blocked = true; break }   // a file, not a folder
                    folder = existing
                } else {
                    folders[folder]![part] = next
                    folders[next] = [:]
                    folder = next
                    next += 1
                }
            }
            guard !blocked, folders[folder]?[parts.last!] == nil else { continue }
            xattrs.append(LazyXattrs { Xattrs.of(child) })
            folders[folder]![parts.last!] = next
            nodes[next] = Node(content: .blob(id: blob.id, size: blob.size), entity: xattrs.count - 1)
            next += 1
        }
        for (local, entries) in folders { nodes[local] = Node(content: .folder(entries), entity: 0) }
        self.nodes = nodes
        self.xattrs = xattrs
    }

    func attributes(_ local: UInt64) -> Attributes? {
        guard let node = nodes[local] else { return nil }
        let id = NodeID.object(seq, local: local)
        // Everything in the folder is the object's to grant, a manifest's blocks included: who
        // may not enter the folder reads none of it.
        switch node.content {
        case .folder: return Attributes.directory(id, modified: modified).owned(by: object.owner)
        case .blob(_, let size): return Attributes.file(id, size: size, modified: modified).owned(by: object.owner)
        case .json: return Attributes.file(id, size: Int64(json.bytes.count), modified: modified).owned(by: object.owner)
        }
    }
}

