import LakeModel

/// A page as `lake object|case|dataset ls --json` prints it: its one list, and `next_cursor`
/// (null on the last page).
public struct Listing: Codable, Sendable {
    public var objects: [LakeObject]?
    public var cases: [LakeCase]?
    public var datasets: [LakeDataset]?
    public var nextCursor: String?

    public init(objects: [LakeObject]? = nil, cases: [LakeCase]? = nil, datasets: [LakeDataset]? = nil, nextCursor: String? = nil) {
        self.objects = objects
        self.cases = cases
        self.datasets = datasets
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey { case objects, cases, datasets, nextCursor = "next_cursor" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(objects, forKey: .objects)
        try c.encodeIfPresent(cases, forKey: .cases)
        try c.encodeIfPresent(datasets, forKey: .datasets)
        try c.encode(nextCursor, forKey: .nextCursor)
    }
}
