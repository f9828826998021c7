import LakeModel

/// What can go wrong in the catalog, as typed values; the CLI and the filesystem map them to
/// messages and errno in their one place each.
public enum CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(LakeID)
    /// The catalog was written by a newer Lake: these migrations are unknown to this build.
    case newerSchema(unknownMigrations: [String])
    case missingCatalog(path: String)
    /// A rule of the lake refused the change (message says which and why).
    case refused(String)
    case noSpace(String)
    case database(String)

    public var description: String {
        switch self {
        case .notFound(let id): "no \(id.kind.map(Self.noun) ?? "entity") with id \(id)"
        case .newerSchema(let unknown):
            "the store's catalog was written by a newer version of lake (unknown migrations: "
                + unknown.joined(separator: ", ") + "); upgrade lake to use this store"
        case .missingCatalog(let path): "no catalog at \(path)"
        case .refused(let message): message
        case .noSpace(let message): "no space left on the store's disk (\(message))"
        case .database(let message): "catalog error: \(message)"
        }
    }

    static func noun(_ kind: LakeID.Kind) -> String {
        switch kind {
        case .object: "object"
        case .case: "case"
        case .dataset: "dataset"
        }
    }
}
