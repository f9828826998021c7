/// How many statistics one object may carry. Every series (each component of a field, and its
/// magnitude) is a 128-bin histogram and its moments: about 1 KB held while processing, half a
/// KB or more of JSON in the catalog's row and a few KB in the mount's `object.json`. 40,000
/// (20,000 one-component fields) keeps processing under 128 MiB (docs/benchmarks.md, "Peak
/// memory, shape by shape"); a file of 300,000 one-value arrays took 1.4 GB and 45 s to process
/// and every `lake object ls` after it 10 s.
public enum FieldLimits {
    public static let series = 40_000

    /// Arrays (of any section), pieces and a manifest's blocks in one file, all held until it is
    /// processed: about 300 bytes each.
    public static let elements = 100_000

    static func tooManyElements() -> FormatError {
        FormatError("the file has more than \(elements) arrays, pieces and blocks (DataArray, Piece and DataSet elements) "
            + "in all; Lake reads at most \(elements) per file: split it over several files")
    }

    /// The series of one array: each component and the magnitude (a one-component field has both).
    public static func series(components: Int) -> Int { components + 1 }

    /// `series` when the whole count is known (after reading), nil when reading stopped at the limit.
    static func exceeded(series: Int?) -> FormatError {
        let count = series.map { "\($0) statistics series" } ?? "more than \(Self.series) statistics series"
        return FormatError("the file's fields need \(count) (one per component of each field, plus its magnitude); Lake keeps at most \(Self.series) per object (a manifest's are the union of its "
            + "blocks'): split the arrays over several files")
    }
}
