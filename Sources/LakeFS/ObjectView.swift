import LakeModel

/// Everything the mount shows of one object, built once from its outline and then answered
/// from memory: its folder (`file`, `<file-name>`, `object.json`, a manifest's referenced files
/// at their relative paths) and the xattrs of the object and of each referenced object. The
/// whole object (provisions, params, tags) is read only when its `object.json` or xattrs are
/// wanted: a walk over thousands of folders needs neither.
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
    let outline: ObjectOutline
    let nodes: [UInt64: Node]
    let xattrs: [LazyXattrs]
    let json: LazyBytes
    var modified: Timestamp { outline.modified }

    /// Terminal objects never change their content, so the kernel may cache them for long.
    var isSettled: Bool { outline.status.isTerminal }

    /// `load` reads a whole object by id when its xattrs are first wanted, `document` its
    /// `object.json` when that is (see `LakeFileSystem.loadDocument`); an object gone from the
    /// catalog since (purged while a file of it was open) shows what its outline knows.
    ///
    /// `meter` counts the bytes views hold, alive anywhere (the cache's budget reads it): a few
    /// hundred each, and tens of KiB for a processed file's made `object.json` and xattrs.
    init(seq: Int64, outline: ObjectOutline, referenced: [LakeID: ObjectOutline], meter: ByteMeter,
         load: @escaping @Sendable (LakeID) -> LakeObject?, document: @escaping @Sendable (LakeID) -> [UInt8]?) {
        self.seq = seq
        self.outline = outline
        self.meter = meter
        json = LazyBytes({ document(outline.id) ?? LazyBytes.jsonLine(load(outline.id) ?? LakeObject(remembering: outline)) },
                         onMade: { meter.add($0.count) })
        var nodes: [UInt64: Node] = [:]
        var top: [String: UInt64] = ["object.json": NodeID.Local.json]
        nodes[NodeID.Local.json] = Node(content: .json, entity: 0)
        if let blob = outline.blob {
            top["file"] = NodeID.Local.file
            nodes[NodeID.Local.file] = Node(content: .blob(id: blob.id, size: blob.size), entity: 0)
            let name = outline.fileName
            if name != "file" && name != "object.json" && !name.isEmpty && !name.contains("/") {
                top[name] = NodeID.Local.namedFile
                nodes[NodeID.Local.namedFile] = Node(content: .blob(id: blob.id, size: blob.size), entity: 0)
            }
        }
        let madeXattrs: @Sendable ([String: [UInt8]]) -> Void = { meter.add(LazyXattrs.weight($0)) }
        var xattrs = [LazyXattrs({ Xattrs.of(load(outline.id) ?? LakeObject(remembering: outline)) }, onMade: madeXattrs)]
        var folders: [UInt64: [String: UInt64]] = [NodeID.Local.folder: top]
        var next = NodeID.Local.firstReference
        for reference in outline.contentReferences {
            guard let id = reference.objectId, let child = referenced[id], let blob = child.blob,
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
            xattrs.append(LazyXattrs({ Xattrs.of(load(id) ?? LakeObject(remembering: child)) }, onMade: madeXattrs))
            folders[folder]![parts.last!] = next
            nodes[next] = Node(content: .blob(id: blob.id, size: blob.size), entity: xattrs.count - 1)
            next += 1
        }
        for (local, entries) in folders { nodes[local] = Node(content: .folder(entries), entity: 0) }
        self.nodes = nodes
        self.xattrs = xattrs
        meter.add(baseWeight)
    }

    deinit { meter.add(-weight) }

    private let meter: ByteMeter

    func attributes(_ local: UInt64) -> Attributes? {
        guard let node = nodes[local] else { return nil }
        let id = NodeID.object(seq, local: local)
        // Everything in the folder is the object's to grant, a manifest's blocks included: who
        // may not enter the folder reads none of it.
        switch node.content {
        case .folder: return Attributes.directory(id, modified: modified).owned(by: outline.owner)
        case .blob(_, let size): return Attributes.file(id, size: size, modified: modified).owned(by: outline.owner)
        case .json: return Attributes.file(id, size: Int64(json.bytes.count), modified: modified).owned(by: outline.owner)
        }
    }

    /// A node's attributes for a listing, and whether they are complete: an `object.json` not
    /// yet made is listed by name and kind only (making it means reading the whole object).
    func listed(_ local: UInt64) -> (attributes: Attributes, isDescribed: Bool)? {
        guard let node = nodes[local] else { return nil }
        if case .json = node.content, json.madeValue == nil {
            return (Attributes.file(NodeID.object(seq, local: local), size: 0, modified: modified).owned(by: outline.owner), false)
        }
        return attributes(local).map { ($0, true) }
    }

    /// A rough count of the bytes the view holds (what it added to its meter): a made
    /// `object.json` of a processed file is tens of KiB, the rest a few hundred bytes.
    var weight: Int {
        baseWeight + (json.madeValue?.count ?? 0) + xattrs.reduce(0) { $0 + ($1.madeValue.map(LazyXattrs.weight) ?? 0) }
    }

    private var baseWeight: Int { 1024 + nodes.count * 128 + xattrs.count * 64 }
}

extension LakeObject {
    /// What an outline knows of an object, for one no longer in the catalog.
    init(remembering outline: ObjectOutline) {
        self.init(id: outline.id, name: outline.fileName, description: "", file: ObjectFile(name: outline.fileName, blob: nil),
                  format: outline.format, status: outline.status, contentReferences: outline.contentReferences,
                  createdAt: outline.createdAt, uploadedAt: outline.uploadedAt, processedAt: outline.processedAt, createdBy: "",
                  owner: outline.owner)
    }
}
