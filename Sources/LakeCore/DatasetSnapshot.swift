import LakeCatalog
import LakeModel

/// Everything a mount of one frozen dataset shows, taken once: the dataset, its cases, the
/// objects they hold (and the blocks their manifests reference), with the numbers the mount's
/// inodes come from. A frozen dataset never changes, so an account's own dataset mount
/// (security.md) is served from this and from blob files the store's daemon opens for it.
public struct DatasetSnapshot: Codable, Sendable {
    public struct Member: Codable, Sendable {
        public var seq: Int64
        public var object: LakeObject
    }

    public var dataset: LakeDataset
    public var cases: [LakeCase]
    public var objects: [Member]
    /// The catalog's numbers of the dataset and its cases.
    public var entitySeqs: [LakeID: Int64]
    public var damaged: Set<String>
    public var changeSequence: Int64

    /// Takes the snapshot of dataset `id` from `catalog` (for another account, an
    /// `AccountCatalog`: a dataset it may not read is refused). Only a frozen dataset.
    public static func take(_ id: LakeID, from catalog: any Catalog) throws -> DatasetSnapshot {
        guard let dataset = try catalog.dataset(id) else { throw CatalogError.notFound(id) }
        guard dataset.isFrozen else {
            throw CatalogError.refused("dataset \(id) is not frozen; only a frozen dataset can be mounted (lake dataset freeze \(id))")
        }
        let sequence = try catalog.changeSequence()
        let cases = try catalog.datasetCases(id)
        var members: [LakeID: Member] = [:]
        var wanted = Set(cases.flatMap { $0.members.map(\.objectId) })
        // Manifests' blocks, and theirs, to any depth.
        while !wanted.isEmpty {
            let fetched = try catalog.objects(ids: Array(wanted))
            wanted = []
            for (seq, object) in fetched where members[object.id] == nil {
                members[object.id] = Member(seq: seq, object: object)
                for child in object.contentReferences.compactMap(\.objectId) where members[child] == nil { wanted.insert(child) }
            }
        }
        var seqs: [LakeID: Int64] = [:]
        for entity in [id] + cases.map(\.id) { seqs[entity] = try catalog.entitySeq(entity) }
        let blobs = Set(members.values.compactMap { $0.object.file.blob?.id })
        return DatasetSnapshot(dataset: dataset, cases: cases, objects: members.values.sorted { $0.seq < $1.seq },
                               entitySeqs: seqs, damaged: try catalog.damagedBlobIDs().intersection(blobs), changeSequence: sequence)
    }

    /// The blobs the dataset's files are stored in: what a served mount may open.
    public var blobIDs: Set<String> { Set(objects.compactMap { $0.object.file.blob?.id }) }
}
