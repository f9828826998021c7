/// What `lake --version` prints. The number changes with the catalog's or the store's format
/// (docs/catalog-schema.md); `lakeCommit` is written by the CommitStamp build plugin.
enum LakeVersion {
    static let number = "0.12.0"
    static var text: String { "lake \(number) (commit \(lakeCommit))" }
}
