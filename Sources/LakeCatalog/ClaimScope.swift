import LakeModel

/// The objects a processing claim may take, their ids written as the JSON array the claim's query
/// reads once: `lake upload` of 1,000 files claims 1,000 times among the same ids, and writing
/// them for every claim made the wait grow with the square of the files (15 s for 1,000 small
/// STLs, 10 of them spent writing ids).
public struct ClaimScope: Sendable {
    public let ids: [LakeID]
    let json: String

    public init(_ ids: [LakeID]) {
        self.ids = ids
        json = ObjectRow.json(ids.map(\.rawValue))
    }
}
