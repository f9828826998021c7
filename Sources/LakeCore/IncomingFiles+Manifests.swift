import LakeCatalog
import LakeFormats
import LakeModel
import LakeSystem

/// `cp -r run.vtm run/ incoming/` copies files in whatever order the directory lists them, so a
/// manifest may be stored before its blocks. Its references are resolved against the files
/// already stored beside it; the rest are awaited, and each block that arrives later is
/// attached to it. Processing waits for the missing blocks until the store's
/// `manifest_block_wait_seconds` have passed, then fails naming them.
struct WaitingManifest {
    /// The incoming/ folder holding the manifest (its node): its references are relative to it.
    var folder: Int64
    /// Normalised relative path → the verbatim references naming it.
    var awaited: [String: [String]]
    var until: Timestamp
}

extension IncomingFiles {
    /// A manifest's references as they stand while its bytes are being stored.
    func links(forManifestAt node: Int64, file: ReadableFile) -> ManifestLinks? {
        // An unreadable manifest links nothing; its processing says what is wrong with it.
        guard let references = try? VTKManifest.references(of: file) else { return nil }
        var links = ManifestLinks(references: [], warnings: [], waitUntil: nil)
        var awaiting = false
        state.withLock { state in
            let folder = state.nodes[node]?.stored.parent ?? 0
            for reference in references {
                switch ManifestReference.resolve(reference) {
                case .rejected(let why):
                    links.references.append(FileRef(path: reference, objectId: nil))
                    links.warnings.append(why.hasPrefix("reference") ? why : "reference '\(reference)': \(why)")
                case .inside(let relative):
                    let child = Self.storedObject(at: relative, under: folder, in: state)
                    links.references.append(FileRef(path: reference, objectId: child))
                    if child == nil { awaiting = true }
                }
            }
        }
        // A manifest that is already wrong fails at once instead of waiting.
        if awaiting && links.warnings.isEmpty {
            links.waitUntil = Timestamp.now.adding(seconds: store.config.manifestBlockWaitSeconds)
        }
        return links
    }

    /// After an upload is stored: manifests waiting for this file get it, and a manifest that
    /// still misses blocks starts waiting for them.
    func arrived(_ node: Int64, object: LakeID, receipt: Receipt, links: ManifestLinks?) {
        var attachments: [(manifest: LakeID, child: LakeID, paths: [String])] = []
        state.withLock { state in
            state.nodes[node]?.stored = receipt
            state.nodes[node]?.live = receipt
            let now = Timestamp.now
            state.waiting = state.waiting.filter { $0.value.until > now }
            for (manifest, var waiting) in state.waiting {
                guard let relative = Self.path(of: node, under: waiting.folder, in: state),
                      let paths = waiting.awaited.removeValue(forKey: relative) else { continue }
                attachments.append((manifest, object, paths))
                state.waiting[manifest] = waiting.awaited.isEmpty ? nil : waiting
            }
            // Blocks stored while the manifest itself was being stored were not seen by it.
            guard let links, let until = links.waitUntil, let folder = state.nodes[node]?.stored.parent else { return }
            var awaited: [String: [String]] = [:]
            for reference in links.references where reference.objectId == nil {
                guard case .inside(let relative) = ManifestReference.resolve(reference.path) else { continue }
                if let child = Self.storedObject(at: relative, under: folder, in: state) {
                    attachments.append((object, child, [reference.path]))
                } else {
                    awaited[relative, default: []].append(reference.path)
                }
            }
            if !awaited.isEmpty { state.waiting[object] = WaitingManifest(folder: folder, awaited: awaited, until: until) }
        }
        for attachment in attachments {
            do {
                try store.catalog.attachBlock(attachment.child, to: attachment.manifest, paths: attachment.paths, at: .now)
            } catch {
                logger.error("cannot attach block \(attachment.child) to manifest \(attachment.manifest): \(error)")
            }
        }
    }

    /// The object stored at `relative` below `folder`, if its upload is complete.
    static func storedObject(at relative: String, under folder: Int64, in state: State) -> LakeID? {
        var current = folder
        for component in relative.split(separator: "/") where component != "." {
            guard let next = state.children[current]?[FileName(String(component))] else { return nil }
            current = next
        }
        guard let node = state.nodes[current], node.committed, !node.isFolder else { return nil }
        return node.live.objectID
    }

    /// `node`'s path relative to `folder`, when it lies below it.
    static func path(of node: Int64, under folder: Int64, in state: State) -> String? {
        var components: [String] = []
        var current = node
        while current != folder {
            guard let entry = state.nodes[current] else { return nil }
            components.append(entry.name.display)
            current = entry.stored.parent
        }
        return components.reversed().joined(separator: "/")
    }
}
