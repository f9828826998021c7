import LakeModel
import Synchronization

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

    /// A view's nodes by local number (`NodeID.Local`, numbered from 0 without gaps but for a
    /// file without a name of its own): an array, where a dictionary cost a plain object's view
    /// twice the bytes.
    struct Nodes: Sendable {
        fileprivate var slots: [Node?]

        subscript(local: UInt64) -> Node? { local < UInt64(slots.count) ? slots[Int(local)] : nil }
        var locals: [UInt64] { slots.indices.compactMap { slots[$0] == nil ? nil : UInt64($0) } }
    }

    /// What views need to make an `object.json` and xattrs, shared by every view of a mount:
    /// `load` reads a whole object by id, `document` its `object.json` (see
    /// `LakeFileSystem.viewSource`); what they make is kept within `made`'s budget.
    final class Source: Sendable {
        let load: @Sendable (LakeID) -> LakeObject?
        let document: @Sendable (LakeID) -> [UInt8]?
        let made: MadeValues

        init(made: MadeValues, load: @escaping @Sendable (LakeID) -> LakeObject?, document: @escaping @Sendable (LakeID) -> [UInt8]?) {
            self.made = made
            self.load = load
            self.document = document
        }
    }

    /// The holders of a view's `object.json` and xattrs, made when first asked for: a walk over
    /// thousands of folders, or a loader reading their files, wants neither.
    private struct Parts: Sendable {
        let json: LazyBytes
        let xattrs: [LazyXattrs]
    }

    let seq: Int64
    let outline: ObjectOutline
    let nodes: Nodes
    private let source: Source
    /// Outlines of the objects a manifest shows files of, entity 1 onwards (empty otherwise).
    private let shown: [ObjectOutline]
    private let parts = Mutex<Parts?>(nil)
    var modified: Timestamp { outline.modified }

    /// Terminal objects never change their content, so the kernel may cache them for long.
    var isSettled: Bool { outline.status.isTerminal }

    /// An object gone from the catalog since (purged while a file of it was open) shows what
    /// its outline knows.
    init(seq: Int64, outline: ObjectOutline, referenced: [LakeID: ObjectOutline], source: Source) {
        self.seq = seq
        self.outline = outline
        self.source = source
        var slots: [Node?] = [nil, nil, nil, Node(content: .json, entity: 0)]
        var top: [String: UInt64] = ["object.json": NodeID.Local.json]
        if let blob = outline.blob {
            top["file"] = NodeID.Local.file
            slots[Int(NodeID.Local.file)] = Node(content: .blob(id: blob.id, size: blob.size), entity: 0)
            let name = outline.fileName
            if name != "file" && name != "object.json" && !name.isEmpty && !name.contains("/") {
                top[name] = NodeID.Local.namedFile
                slots[Int(NodeID.Local.namedFile)] = Node(content: .blob(id: blob.id, size: blob.size), entity: 0)
            }
        }
        var shown: [ObjectOutline] = []
        var folders: [UInt64: [String: UInt64]] = [NodeID.Local.folder: top]
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
                    let next = UInt64(slots.count)
                    folders[folder]![part] = next
                    folders[next] = [:]
                    slots.append(nil)
                    folder = next
                }
            }
            guard !blocked, folders[folder]?[parts.last!] == nil else { continue }
            shown.append(child)
            folders[folder]![parts.last!] = UInt64(slots.count)
            slots.append(Node(content: .blob(id: blob.id, size: blob.size), entity: shown.count))
        }
        for (local, entries) in folders { slots[Int(local)] = Node(content: .folder(entries), entity: 0) }
        nodes = Nodes(slots: slots)
        self.shown = shown
    }

    /// `object.json`, made from the catalog when first wanted.
    var json: LazyBytes { made.json }
    /// The xattrs of the object (0) and of each object whose files a manifest shows (1…).
    var xattrs: [LazyXattrs] { made.xattrs }

    private var made: Parts {
        if let parts = parts.withLock({ $0 }) { return parts }
        let source = source, outline = outline
        let json = LazyBytes({ source.document(outline.id) ?? LazyBytes.entityJSONLine(source.load(outline.id) ?? LakeObject(remembering: outline)) },
                             made: source.made)
        let xattrs = ([outline] + shown).map { shown in
            LazyXattrs({ Xattrs.of(source.load(shown.id) ?? LakeObject(remembering: shown)) }, made: source.made)
        }
        return parts.withLock { kept in
            if let earlier = kept { return earlier }
            kept = Parts(json: json, xattrs: xattrs)
            return kept!
        }
    }

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
        if case .json = node.content, parts.withLock({ $0 })?.json.madeValue == nil {
            return (Attributes.file(NodeID.object(seq, local: local), size: 0, modified: modified).owned(by: outline.owner), false)
        }
        return attributes(local).map { ($0, true) }
    }
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
