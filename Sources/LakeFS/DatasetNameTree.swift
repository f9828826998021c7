import LakeCore
import LakeModel
import LakeSystem

/// `datasets/by-name/<name>/<n>` and `datasets/by-name/<name>/latest`: symbolic links to
/// `datasets/<id>`, the n-th frozen dataset of that name in freeze order (as `lake dataset show
/// NAME@N` counts) and the last, so training code opens `/lake/datasets/by-name/wing/latest/…`.
/// The links are relative (`../../ds-…`), so they work wherever the lake is mounted. A name
/// that is not a possible file name (empty, `.`, `..`, or holding `/`) has no folder.
///
/// Inode numbers: the folder is `NodeID.datasetNames`; a name's folder is 2^60 + the seq of
/// its first frozen dataset << 24, its links that + n (and + 2^24 − 1 for `latest`). They
/// follow the catalog: a dataset frozen or removed changes the names' folders, which the
/// kernel asks again within a second.
struct DatasetNameTree: FileTree {
    let fs: LakeFileSystem

    static let folderName = "by-name"
    static let base: UInt64 = 1 << 60
    static let localBits: UInt64 = 24
    static let latest: UInt64 = (1 << 24) - 1

    static func owns(_ node: UInt64) -> Bool { node == NodeID.datasetNames || (node >= base && node < EntityTrees.base) }

    /// One name's frozen datasets, in freeze order.
    struct Name {
        var name: String
        var versions: [EntitySummary]
        var folder: UInt64 { DatasetNameTree.base | UInt64(versions[0].seq) << DatasetNameTree.localBits }
    }

    func names() throws(FSError) -> [Name] {
        let frozen = try fs.entitySummaries(fs.trees.datasetListing) { try fs.store.frozenDatasetSummaries() }
        var byName: [String: [EntitySummary]] = [:]
        for summary in frozen {
            guard let name = summary.name, !name.isEmpty, name != ".", name != "..", !name.contains("/") else { continue }
            byName[name, default: []].append(summary)
        }
        return byName.map { name, versions in
            Name(name: name, versions: versions.sorted { ($0.createdAt, $0.id.rawValue) < ($1.createdAt, $1.id.rawValue) })
        }.sorted { $0.name < $1.name }
    }

    /// The name and version a node is, when it is one.
    func resolve(_ node: UInt64) throws(FSError) -> (Name, UInt64)? {
        guard node >= Self.base else { return nil }
        let folder = node & ~Self.latest
        guard let name = try names().first(where: { $0.folder == folder }) else { throw .notFound }
        return (name, node & Self.latest)
    }

    func target(_ name: Name, _ local: UInt64) throws(FSError) -> EntitySummary {
        if local == Self.latest { return name.versions[name.versions.count - 1] }
        guard local >= 1, local <= UInt64(name.versions.count) else { throw .notFound }
        return name.versions[Int(local) - 1]
    }

    func links(_ name: Name) -> [(String, UInt64)] {
        (1...name.versions.count).map { (String($0), name.folder | UInt64($0)) } + [("latest", name.folder | Self.latest)]
    }

    func lookup(_ parent: UInt64, _ name: FileName) throws(FSError) -> Entry {
        guard let text = name.string else { throw .notFound }
        let node: UInt64
        if parent == NodeID.datasetNames {
            guard let found = try names().first(where: { $0.name == text }) else { throw .notFound }
            node = found.folder
        } else {
            guard let (found, local) = try resolve(parent), local == 0,
                  let link = links(found).first(where: { $0.0 == text }) else { throw .notFound }
            node = link.1
        }
        return Entry(attributes: try attributes(node), timeout: LakeFileSystem.shortTimeout)
    }

    func attributes(_ node: UInt64) throws(FSError) -> Attributes {
        guard let (name, local) = try resolve(node) else { return .directory(node, modified: fs.mountedAt) }
        if local == 0 { return .directory(node, modified: name.versions[name.versions.count - 1].createdAt) }
        let summary = try target(name, local)
        return .symlink(node, to: Self.link(to: summary.id), modified: summary.createdAt)
    }

    static func link(to id: LakeID) -> String { "../../" + id.rawValue }

    func list(_ node: UInt64) throws(FSError) -> [DirectoryEntry] {
        if node == NodeID.datasetNames {
            return try names().map { name throws(FSError) in
                DirectoryEntry(name: name.name, attributes: try attributes(name.folder), timeout: LakeFileSystem.shortTimeout)
            }
        }
        guard let (name, local) = try resolve(node), local == 0 else { throw .notDirectory }
        return try links(name).map { text, link throws(FSError) in
            DirectoryEntry(name: text, attributes: try attributes(link), timeout: LakeFileSystem.shortTimeout)
        }
    }

    func readlink(_ node: UInt64) throws(FSError) -> String {
        guard let (name, local) = try resolve(node), local != 0 else { throw .invalid }
        return Self.link(to: try target(name, local).id)
    }

    /// What the kernel must forget when datasets changed: every name's folder and its entries
    /// (the missing ones too: a version looked up before it was frozen is cached as absent).
    func invalidations() -> [LakeFileSystem.Invalidation] {
        guard let names = try? names() else { return [] }
        return names.flatMap { name -> [LakeFileSystem.Invalidation] in
            [.entry(parent: NodeID.datasetNames, name: FileName(name.name)), .node(name.folder)]
                + (1...name.versions.count + 1).map { .entry(parent: name.folder, name: FileName(String($0))) }
                + [.entry(parent: name.folder, name: FileName("latest"))]
        }
    }

    func open(_ node: UInt64, flags: Int32, caller: Caller) throws(FSError) -> OpenPlan { throw .isDirectory }
    func xattrs(_ node: UInt64) throws(FSError) -> [String: [UInt8]] { [:] }
    func attributeTimeout(_ node: UInt64) -> Double { LakeFileSystem.shortTimeout }
    func negativeTimeout(_ parent: UInt64) -> Double { LakeFileSystem.shortTimeout }
    func listingIsStable(_ node: UInt64) -> Bool { false }
    func contentIsStable(_ node: UInt64) -> Bool { false }
}
