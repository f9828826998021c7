import LakeCatalog
import LakeModel

/// Datasets by name, as training code names them: `wing@latest` (the most recently frozen
/// dataset named wing), `wing@3` (the third frozen, in freeze order), or `wing` alone when one
/// dataset has that name. An id is taken as it is.
public enum DatasetNames {
    public static func resolve(_ text: String, in catalog: any Catalog) throws -> LakeID {
        if let id = try? LakeID(validating: text, kind: .dataset) { return id }
        let (name, version) = split(text)
        guard !name.isEmpty else { throw InputError("'\(text)' is neither a dataset id nor NAME, NAME@latest or NAME@N") }
        // The catalog's ids and freeze times of that name: nothing else of any dataset is read.
        let named = try catalog.datasetsNamed(name)
        guard !named.isEmpty else { throw CatalogError.refused("no dataset is named '\(name)'") }
        let frozen = named.compactMap { found in found.frozenAt.map { (id: found.id, at: $0) } }
            .sorted { ($0.at, $0.id.rawValue) < ($1.at, $1.id.rawValue) }
        switch version {
        case nil:
            guard named.count == 1 else {
                throw CatalogError.refused("'\(name)' names \(named.count) datasets (\(named.map(\.id.rawValue).joined(separator: ", "))); "
                    + "give an id, \(name)@latest or \(name)@N")
            }
            return named[0].id
        case "latest":
            guard let last = frozen.last else { throw CatalogError.refused("no dataset named '\(name)' is frozen yet") }
            return last.id
        case let number?:
            guard let n = Int(number), n >= 1 else {
                throw InputError("'\(text)': after '@' comes latest or a version number from 1")
            }
            guard n <= frozen.count else {
                throw CatalogError.refused("'\(text)': '\(name)' has \(frozen.count) frozen version\(frozen.count == 1 ? "" : "s")")
            }
            return frozen[n - 1].id
        }
    }

    /// NAME and what follows its last '@', if anything.
    static func split(_ text: String) -> (String, String?) {
        guard let at = text.lastIndex(of: "@") else { return (text, nil) }
        return (String(text[..<at]), String(text[text.index(after: at)...]))
    }
}
