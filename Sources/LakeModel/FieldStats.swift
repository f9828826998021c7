/// Statistics of one series (a component or the magnitude) as `stats.md` defines them.
/// min, max, mean and stdev are null when no value was used.
public struct FieldStats: Hashable, Sendable, Codable {
    public var count: Int64
    public var nanCount: Int64
    public var min: Double?
    public var max: Double?
    public var mean: Double?
    public var stdev: Double?
    public var hist128: [Int64]

    public init(count: Int64, nanCount: Int64, min: Double?, max: Double?, mean: Double?, stdev: Double?, hist128: [Int64]) {
        self.count = count
        self.nanCount = nanCount
        self.min = min
        self.max = max
        self.mean = mean
        self.stdev = stdev
        self.hist128 = hist128
    }

    enum CodingKeys: String, CodingKey {
        case count, min, max, mean, stdev, hist128
        case nanCount = "nan_count"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encode(nanCount, forKey: .nanCount)
        // Null rather than absent: an empty series says so explicitly.
        try container.encode(min, forKey: .min)
        try container.encode(max, forKey: .max)
        try container.encode(mean, forKey: .mean)
        try container.encode(stdev, forKey: .stdev)
        // The compact form (`withoutHistogram`) leaves the histogram out altogether.
        if !hist128.isEmpty { try container.encode(hist128, forKey: .hist128) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        count = try container.decode(Int64.self, forKey: .count)
        nanCount = try container.decode(Int64.self, forKey: .nanCount)
        min = try container.decodeIfPresent(Double.self, forKey: .min)
        max = try container.decodeIfPresent(Double.self, forKey: .max)
        mean = try container.decodeIfPresent(Double.self, forKey: .mean)
        stdev = try container.decodeIfPresent(Double.self, forKey: .stdev)
        hist128 = try container.decodeIfPresent([Int64].self, forKey: .hist128) ?? []
    }

    /// The same statistics without the histogram, for compact views (xattrs).
    public var withoutHistogram: FieldStats {
        var copy = self
        copy.hist128 = []
        return copy
    }
}

public struct ComponentStats: Hashable, Sendable, Codable {
    public var name: String
    public var stats: FieldStats

    public init(name: String, stats: FieldStats) {
        self.name = name
        self.stats = stats
    }
}
