import LakeCatalog
import LakeModel
import LakeSystem

/// Metadata for files dropped into incoming/, both ways, with `lake upload`'s set-once rules:
/// `setfattr -n user.lake.params -v '{"mach":0.8}' incoming/run.vtu` (also `user.lake.tags`,
/// `user.lake.annotations`, `user.lake.geometry_units`), and a sidecar `run.vtu.lake.json`
/// copied beside the file in either order. A file still being written takes what it is given
/// into the transaction that stores it; a stored one is changed at once (`applyMetadata`).
/// The sidecar is stored too, as an object of its own (format unknown): the record of what was
/// given, and what lets a file written over later (or copied after it) take the same metadata.
extension IncomingFiles {
    static let sidecarSuffix = Array(".lake.json".utf8)

    /// The file a sidecar's name is about (`run.vtu` for `run.vtu.lake.json`), or nil.
    static func sidecarTarget(_ name: FileName) -> FileName? {
        let bytes = name.bytes
        guard !name.isHidden, bytes.count > sidecarSuffix.count, bytes.suffix(sidecarSuffix.count).elementsEqual(sidecarSuffix) else { return nil }
        return FileName(bytes: Array(bytes.dropLast(sidecarSuffix.count)))
    }

    /// A stored sidecar for `name` in `parent`, read and parsed (nil when there is none, or it
    /// cannot be read: it was checked when stored).
    func storedSidecar(parent: Int64, of name: FileName) -> (name: FileName, metadata: ObjectMetadata)? {
        let sidecarName = FileName(bytes: name.bytes + Self.sidecarSuffix)
        let blob = state.withLock { state -> String? in
            // Stored is enough: the kernel sends a file's RELEASE after its close has returned,
            // so the next file's copy may arrive while the sidecar's upload is still held open.
            guard let number = state.children[parent]?[sidecarName], let node = state.nodes[number], node.committed else { return nil }
            return node.stored.blobID
        }
        guard let blob, let file = try? store.openBlob(blob), file.size <= Int64(ObjectMetadata.maximumSidecarBytes),
              let bytes = try? file.bytes(at: 0, count: Int(file.size)), let metadata = try? ObjectMetadata(sidecar: bytes) else { return nil }
        return (sidecarName, metadata)
    }

    /// A sidecar being stored: refused (and not stored) unless it parses; its file, when stored
    /// already, takes the metadata now, and a refusal of that refuses the sidecar too.
    func checkSidecar(_ file: ReadableFile, givingTo target: FileName, in parent: Int64) throws {
        guard file.size <= Int64(ObjectMetadata.maximumSidecarBytes) else {
            throw IncomingError.invalidMetadata("\(target.display).lake.json holds \(file.size) bytes; a sidecar holds at most \(ObjectMetadata.maximumSidecarBytes)")
        }
        let metadata: ObjectMetadata
        do { metadata = try ObjectMetadata(sidecar: try file.bytes(at: 0, count: Int(file.size))) } catch let error as InputError {
            logger.error("\(target.display).lake.json is not metadata: \(error.message)")
            throw IncomingError.invalidMetadata(error.message)
        }
        let stored = state.withLock { state -> LakeID? in
            guard let number = state.children[parent]?[target], let node = state.nodes[number], !node.isFolder, node.committed else { return nil }
            return node.stored.objectID
        }
        guard let stored else { return }
        try apply(metadata, to: stored, what: "\(target.display).lake.json")
    }

    /// `setfattr` of `user.lake.params|tags|annotations|geometry_units` on a file in incoming/.
    public func setMetadata(_ node: Int64, name: String, value: [UInt8]) throws(IncomingError) {
        let metadata: ObjectMetadata
        do { metadata = try ObjectMetadata(xattr: name, value: value) } catch {
            logger.error("\(name) on incoming/ refused: \(error.message)")
            throw .invalidMetadata(error.message)
        }
        guard let current = state.withLock({ $0.nodes[node] }) else { throw .notFound }
        if current.isFolder { throw .isDirectory }
        // Being written: recorded when stored.
        if let upload = current.upload {
            let given = try upload.lock.withLock { streaming throws(IncomingError) -> Bool in
                guard let streaming else { return false }
                do throws(InputError) { return try streaming.give(metadata) } catch {
                    logger.error("\(name) on incoming/\(current.name.display) refused: \(error.message)")
                    throw .invalidMetadata(error.message)
                }
            }
            if given { return }
        }
        guard let id = state.withLock({ $0.nodes[node]?.stored.objectID }), current.committed || current.stored.blobID != nil else {
            throw .notFound
        }
        do { try apply(metadata, to: id, what: "\(name) on incoming/\(current.name.display)") } catch let error as IncomingError {
            throw error
        } catch {
            throw IncomingError.from(error)
        }
    }

    /// Changes a stored object; a READY one's fields are annotated now (an annotation that
    /// matches no field is kept as a warning, as at upload).
    func apply(_ metadata: ObjectMetadata, to id: LakeID, what: String) throws {
        do {
            _ = try store.catalog.applyMetadata(id, metadata, at: .now) { object, fresh in
                try Annotator.change(object, fresh, allowUnmatched: true)
            }
        } catch let error as CatalogError {
            logger.error("\(what) refused for \(id): \(error)")
            if case .refused(let reason) = error { throw IncomingError.metadataRefused(reason) }
            throw IncomingError.failed("\(error)")
        }
    }
}
