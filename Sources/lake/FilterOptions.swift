import ArgumentParser
import LakeModel

/// The ObjectFilter and paging options shared by `object ls`, `case ls` and `dataset ls`.
struct FilterOptions: ParsableArguments {
    @Option(help: "Only objects in this status (repeatable: any of).")
    var status: [String] = []

    @Option(help: "Only objects of this format (repeatable: any of).")
    var format: [String] = []

    @Option(help: "Only names containing this text (case-insensitive).")
    var nameContains: String?

    @Option(help: "Only tags containing this JSON object, e.g. '{\"project\":\"wing\"}' (repeatable).")
    var tags: [String] = []

    @Option(help: "A param comparison: 'mach>=0.8', 'solver=rans', 'converged=true' (= != < <= > >=; repeatable).")
    var param: [String] = []

    @Option(help: "One provision satisfying all of 'quantity_type=PRESSURE,element_assoc=POINT,units=Pa,mag_max<=1e5' (repeatable).")
    var provision: [String] = []

    @Option(help: "At most this many results.")
    var limit = 100

    @Option(help: "Continue after this id (the next_cursor of a previous page).")
    var after: String?

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func filter() throws -> ObjectFilter {
        try parsing { () throws(InputError) -> ObjectFilter in
            var filter = ObjectFilter()
            for text in status {
                guard let value = ObjectStatus(rawValue: text.uppercased()) else {
                    throw InputError("--status '\(text)' is not one of \(ObjectStatus.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.statuses.append(value)
            }
            for text in format {
                guard let value = FileFormat(rawValue: text.lowercased()) else {
                    throw InputError("--format '\(text)' is not one of \(FileFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                filter.formats.append(value)
            }
            filter.nameContains = nameContains
            filter.tags = try tags.map { text throws(InputError) in try Tags.parse(object: text) }
            filter.params = try param.map { text throws(InputError) in try ObjectFilter.param(parsing: text) }
            filter.provisions = try provision.map { text throws(InputError) in try ObjectFilter.provision(parsing: text) }
            return filter
        }
    }

    func cursor(_ kind: LakeID.Kind) throws -> LakeID? {
        try after.map { text in try parsing { () throws(InputError) in try LakeID(validating: text, kind: kind) } }
    }
}

/// One page of objects, cases or datasets, as `--json` prints it.
struct Page<Item: Encodable & HoldsProvisions>: Encodable {
    var key: String
    var items: [Item]
    var nextCursor: LakeID?

    /// Drops the extra item fetched to learn whether another page exists.
    init(key: String, fetched: [Item], limit: Int, id: (Item) -> LakeID) {
        self.key = key
        items = Array(fetched.prefix(limit))
        nextCursor = fetched.count > limit ? items.last.map(id) : nil
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(items, forKey: Key(stringValue: key))
        try c.encode(nextCursor, forKey: Key(stringValue: "next_cursor"))
    }
}

extension Page {
    /// Prints the page as JSON, the items' provisions laid out from compact text (`EntityJSON`).
    func printJSON() throws {
        try printEntityJSON(items, depth: 2) { entities in
            var page = self
            page.items = entities
            return page
        }
    }

    /// Prints the page: JSON with `--json` (the items' provisions laid out from compact text by
    /// `EntityJSON`: the encoder's bytes, without its cost per histogram), else `none` or the
    /// table, and how to get the next page.
    func show(json: Bool, none: String, command: String, table: ([Item]) -> String) throws {
        if json { return try printJSON() }
        guard !items.isEmpty else { return print(none) }
        print(table(items))
        if let next = nextCursor { print("… more: lake \(command) --after \(next)") }
    }
}
