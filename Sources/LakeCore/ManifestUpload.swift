import LakeFormats
import LakeModel
import LakeSystem

/// An uploaded object and, for a manifest, the objects uploaded for its references.
public struct UploadedTree: Sendable {
    public var root: LakeObject
    public var descendants: [LakeObject]
    /// Every object to wait for before the root can settle.
    public var allIDs: [LakeID] { descendants.map(\.id) + [root.id] }
}

extension Uploader {
    /// Uploads a file; a `.vtm` manifest brings its referenced datasets along as independent
    /// objects, referenced by the manifest with their verbatim relative paths. A reference that
    /// is absolute, escapes the manifest's folder, or names no file is recorded so the
    /// manifest's processing fails with a reason naming it.
    public func uploadTree(_ request: UploadRequest, progress: (String, Int64, Int64) -> Void = { _, _, _ in },
                           depth: Int = 0) throws(UploadError) -> UploadedTree {
        guard FileFormat(inferredFrom: request.path) == .vtm, depth < 8 else {
            let object = try upload(request) { progress(request.path, $0, $1) }
            return UploadedTree(root: object, descendants: [])
        }
        // A manifest that cannot be parsed is still stored; its processing reports why.
        let references = (try? VTKManifest.references(of: request.open())) ?? []
        let folder = Path.parent(of: request.path)
        let folderBytes = request.pathBytes.map(PathBytes.parent(of:))
        var descendants: [LakeObject] = []
        var refs: [FileRef] = []
        var problems: [String] = []
        var seen: [String: LakeID] = [:]
        for reference in references {
            switch ManifestReference.resolve(reference) {
            case .rejected(let why):
                refs.append(FileRef(path: reference, objectId: nil))
                problems.append(why.hasPrefix("reference") ? why : "reference '\(reference)': \(why)")
            case .inside(let relative):
                if let existing = seen[relative] {
                    refs.append(FileRef(path: reference, objectId: existing))
                    continue
                }
                let childBytes = folderBytes.map { PathBytes.join($0, relative) }
                let childPath = childBytes.map(PathBytes.text) ?? Path.join(folder, relative)
                let childRequest = UploadRequest(path: childPath, name: relative, createdBy: request.createdBy, pathBytes: childBytes)
                do {
                    let child = try uploadTree(childRequest, progress: progress, depth: depth + 1)
                    descendants += child.descendants + [child.root]
                    refs.append(FileRef(path: reference, objectId: child.root.id))
                    seen[relative] = child.root.id
                } catch {
                    refs.append(FileRef(path: reference, objectId: nil))
                    problems.append("reference '\(reference)' could not be uploaded: \(error.reason) (looked for \(childPath))")
                }
            }
        }
        var manifest = request
        manifest.contentReferences = refs
        manifest.warnings = problems
        let root = try upload(manifest) { progress(request.path, $0, $1) }
        return UploadedTree(root: root, descendants: descendants)
    }
}
