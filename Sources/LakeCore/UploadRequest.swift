import LakeModel

/// What a user says about a file they upload.
public struct UploadRequest: Sendable {
    public var path: String
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
                createdBy: String) {
        self.path = path
        self.name = name
        self.description = description
        self.params = params
        self.tags = tags
        self.geometryUnits = geometryUnits
        self.annotations = annotations
        self.createdBy = createdBy
    }
}

/// Why one file did not upload; the message names the path.
public struct UploadError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public let isNoSpace: Bool

    public var description: String { "\(path): \(reason)" }
}
