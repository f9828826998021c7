import LakeModel
import LakeSystem

/// What a user says about a file they upload.
public struct UploadRequest: Sendable {
    /// The file's path as text; for a name that is not UTF-8, the lossless text of `pathBytes`
    /// (`PathBytes.text`), for messages only.
    public var path: String
    /// The path's bytes when they are not UTF-8 (an argument or a `--files-from` list gave them).
    public var pathBytes: [UInt8]?
    public var name: String?
    public var description: String
    public var params: [String: Param]
    public var tags: [String: JSONValue]
    public var geometryUnits: String?
    public var annotations: [FieldAnnotation]
    public var createdBy: String
    /// For a manifest: its references, resolved to the objects uploaded for them.
    public var contentReferences: [FileRef] = []
    /// Problems found while uploading, kept on the object.
    public var warnings: [String] = []

    public init(path: String, name: String? = nil, description: String = "", params: [String: Param] = [:],
                tags: [String: JSONValue] = [:], geometryUnits: String? = nil, annotations: [FieldAnnotation] = [],
                createdBy: String, pathBytes: [UInt8]? = nil) {
        self.path = path
        self.pathBytes = pathBytes
        self.name = name
        self.description = description
        self.params = params
        self.tags = tags
        self.geometryUnits = geometryUnits
        self.annotations = annotations
        self.createdBy = createdBy
    }
}

extension UploadRequest {
    /// Opens the file through the account's own rights, by its bytes when its name is not UTF-8.
    func open() throws -> ReadableFile {
        guard let pathBytes else { return try UserFiles.openForReading(path) }
        return try UserFiles.openForReading(bytes: pathBytes, display: path)
    }
}

/// Why one file did not upload; the message names the path.
public struct UploadError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public let isNoSpace: Bool

    public var description: String { "\(path): \(reason)" }
}
