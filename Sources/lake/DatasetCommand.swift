import ArgumentParser
import LakeCatalog
import LakeCore
import LakeModel
import LakeSystem

struct DatasetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataset", abstract: "Group cases into datasets; freeze them for training.",
        subcommands: [DatasetCreate.self, DatasetAdd.self, DatasetRemoveCases.self, DatasetUpdate.self, DatasetFreeze.self, DatasetPrefetchCommand.self,
                      DatasetShow.self, DatasetList.self, DatasetCases.self, DatasetRemove.self, AccessChmod<DatasetAccess>.self, AccessChgrp<DatasetAccess>.self,
                      DatasetServe.self])
}

func datasetID(_ text: String) throws -> LakeID {
    try parsing { () throws(InputError) in try LakeID(validating: text, kind: .dataset) }
}

/// Prints a dataset: in full with --json or when shown; a change (`done`) as one line, since
/// the fields of a large dataset run to a hundred lines (`lake dataset show` has them).
func printing(_ dataset: LakeDataset, json: Bool, done: String? = nil) throws {
    if json { return try printEntityJSON(dataset) }
    print(done.map { DatasetText.line(dataset, $0) } ?? DatasetText.details(dataset))
}

struct DatasetCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a dataset.")
    @OptionGroup var options: StoreOptions
    @Option(help: "The dataset's name.") var name: String
    @Option(help: "A description.") var description = ""
    @Option(help: "A case to include (repeatable).") var `case`: [String] = []
    @Option(help: "A file listing case ids, one per line (for large datasets).") var casesFrom: String?
    @Option(help: "A tag KEY=VALUE (repeatable).") var tag: [String] = []
    @Option(help: "Who may read it (and every file in it) through the mount, in octal (default: 666 less the umask, so usually 644).")
    var mode: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let owner = try AccessChange.creator(mode: mode)
        var ids = try (self.case + LongCommandLines.rest(of: "--case")).map(caseID)
        if let casesFrom {
            // Opened with the caller's rights (through the client, in a session of the mount daemon).
            let text = try reportingErrors { String(decoding: try FileList.contents(of: casesFrom), as: UTF8.self) }
            ids += try text.split(whereSeparator: \.isNewline).map { try caseID(String($0).trimmingCharacters(in: .whitespaces)) }
        }
        let tags = try parsing { () throws(InputError) -> [String: JSONValue] in
            var tags: [String: JSONValue] = [:]
            for text in tag {
                let (key, value) = try Tags.parse(assignment: text)
                tags[key] = value
            }
            return tags
        }
        let now = Timestamp.now
        let draft = LakeDataset(id: LakeID.make(.dataset, at: now.milliseconds), name: name, description: description,
                                status: .ready, caseIds: ids, tags: tags, createdAt: now, createdBy: Account.current.name, owner: owner)
        try reportingErrors { try printing(try options.openStore().catalog.createDataset(draft), json: json, done: "Created") }
    }
}

struct DatasetAdd: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add cases to an unfrozen dataset.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The dataset id.") var id: String
    @Argument(help: "Case ids.") var cases: [String]
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let id = try datasetID(id), cases = try (cases + LongCommandLines.rest()).map(caseID)
        try reportingErrors { try printing(try options.openStore().catalog.addCases(cases, to: id, at: .now), json: json, done: "Added \(cases.count) case\(cases.count == 1 ? "" : "s") to") }
    }
}

struct DatasetRemoveCases: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove cases from an unfrozen dataset.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The dataset id.") var id: String
    @Argument(help: "Case ids.") var cases: [String]
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let id = try datasetID(id), cases = try (cases + LongCommandLines.rest()).map(caseID)
        try reportingErrors { try printing(try options.openStore().catalog.removeCases(cases, from: id, at: .now), json: json, done: "Removed \(cases.count) case\(cases.count == 1 ? "" : "s") from") }
    }
}

struct DatasetUpdate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change an unfrozen dataset's name, description or tags.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The dataset id.") var id: String
    @Option(help: "A new name.") var name: String?
    @Option(help: "A new description.") var description: String?
    @Option(help: "New tags as a JSON object; they replace the old ones ('{}' clears them).") var tags: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let id = try datasetID(id)
        guard name != nil || description != nil || tags != nil else { throw usageFailure("nothing to update: give --name, --description or --tags") }
        let newTags = try tags.map { text in try parsing { () throws(InputError) in try Tags.parse(object: text) } }
        try reportingErrors {
            try printing(try options.openStore().catalog.updateDataset(id, name: name, description: description, tags: newTags, at: .now), json: json, done: "Updated")
        }
    }
}

struct DatasetFreeze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "freeze", abstract: "Freeze a READY dataset: it never changes again and can be mounted for training.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The dataset id.") var id: String
    @Option(help: "Augment a schema param: PARAM:default_reference=[…],description=… (repeatable).") var augment: [String] = []
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let id = try datasetID(id)
        let augmentations = try parsing { () throws(InputError) -> [String: ParameterDef] in
            var result: [String: ParameterDef] = [:]
            for text in augment {
                let (key, def) = try Augmentation.parse(text)
                result[key] = def
            }
            return result
        }
        try reportingErrors { try printing(try options.openStore().catalog.freezeDataset(id, augmentations: augmentations, at: .now), json: json, done: "Froze") }
    }
}

/// `PARAM:default_reference=[1,2],description=text` (either part may be left out; the
/// description runs to the end).
enum Augmentation {
    static func parse(_ text: String) throws(InputError) -> (String, ParameterDef) {
        let example = "PARAM:default_reference=[0.8],description=free-stream Mach"
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            throw InputError("--augment '\(text)' must look like \(example)")
        }
        let key = String(text[..<colon])
        var rest = Substring(text[text.index(after: colon)...])
        var def = ParameterDef(type: "")
        while !rest.isEmpty {
            if rest.hasPrefix("default_reference=") {
                rest = rest.dropFirst("default_reference=".count)
                guard let close = rest.firstIndex(of: "]"), rest.first == "[" else {
                    throw InputError("--augment '\(text)': default_reference is a list of numbers like [0.8]")
                }
                let json = try JSONValue(parsing: String(rest[...close]))
                guard case .array(let items) = json else { throw InputError("--augment '\(text)': default_reference is a list of numbers") }
                def.defaultReference = try items.map { item throws(InputError) -> Double in
                    guard case .number(let n) = item else { throw InputError("--augment '\(text)': default_reference holds numbers only") }
                    return n
                }
                rest = rest[rest.index(after: close)...]
                if rest.first == "," { rest = rest.dropFirst() }
            } else if rest.hasPrefix("description=") {
                def.description = String(rest.dropFirst("description=".count))
                rest = ""
            } else {
                throw InputError("--augment '\(text)': expected default_reference=[…] or description=…, like \(example)")
            }
        }
        return (key, def)
    }
}

struct DatasetShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a dataset (status derived now).")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The dataset: an id, NAME@latest, NAME@N (the Nth frozen) or a NAME only one dataset has.") var id: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let catalog = try options.openStore().catalog
            let id = try DatasetNames.resolve(id, in: catalog)
            guard let found = try catalog.dataset(id) else { throw CatalogError.notFound(id) }
            try printing(found, json: json)
        }
    }
}

struct DatasetList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List datasets, newest first; filters select datasets with some member object matching.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var filtering: FilterOptions
    @Flag(help: "Print JSON: {\"datasets\": [...], \"next_cursor\": ID or null}.") var json = false

    func run() throws {
        let filter = try filtering.filter()
        let cursor = try filtering.cursor(.dataset)
        try reportingErrors {
            let fetched = try options.openStore().catalog.datasets(matching: filter, limit: filtering.limit + 1, after: cursor)
            try Page(key: "datasets", fetched: fetched, limit: filtering.limit, id: \.id).show(json: json, none: "No datasets.", command: "dataset ls") { items in
                (["\("ID".padding(29)) \("STATUS".padding(10)) \("FROZEN".padding(7)) \("CASES".padding(7)) NAME"] + items.map { item in
                    "\(item.id.rawValue.padding(29)) \(item.status.rawValue.padding(10)) \((item.isFrozen ? "yes" : "no").padding(7)) "
                        + "\(String(item.caseIds.count).padding(7)) \(item.name)"
                }).joined(separator: "\n")
            }
        }
    }
}

struct DatasetCases: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cases", abstract: "List a dataset's cases.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The dataset id.") var id: String
    @Flag(help: "Print JSON: {\"cases\": [...]}.") var json = false

    func run() throws {
        let id = try datasetID(id)
        try reportingErrors {
            let cases = try options.openStore().catalog.datasetCases(id)
            if json { return try printEntityJSON(cases, depth: 2) { ["cases": $0] } }
            for item in cases { print("\(item.id.rawValue.padding(31)) \(item.status.rawValue.padding(10)) \(item.name)") }
        }
    }
}

struct DatasetRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a dataset (its cases stay); a frozen one needs --force.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The dataset id.") var id: String
    @Flag(help: "Remove even a frozen dataset.") var force = false

    func run() throws {
        let id = try datasetID(id)
        try reportingErrors {
            try options.openStore().catalog.deleteDataset(id, force: force, at: .now)
            print("Removed \(id).")
        }
    }
}

enum DatasetText {
    /// "Froze ds-… (wing): READY, 12 cases, frozen at 2026-…"
    static func line(_ item: LakeDataset, _ done: String) -> String {
        let frozen = item.frozenAt.map { ", frozen at \(String($0.rfc3339.prefix(19)))Z" } ?? ""
        let failure = item.failureReason.map { " (\($0))" } ?? ""
        return "\(done) \(item.id) (\(item.name)): \(item.status.rawValue)\(failure), \(item.caseIds.count) case\(item.caseIds.count == 1 ? "" : "s")\(frozen)"
    }

    static func details(_ item: LakeDataset) -> String {
        var lines = ["id:           \(item.id)", "name:         \(item.name)"]
        if !item.description.isEmpty { lines.append("description:  \(item.description)") }
        lines.append("status:       \(item.status.rawValue)")
        if let reason = item.failureReason { lines.append("failure:      \(reason)") }
        lines.append("frozen:       \(item.frozenAt?.rfc3339 ?? "no")")
        lines.append("cases:        \(item.caseIds.count)")
        if !item.paramsSchema.isEmpty {
            lines.append("params:       " + item.paramsSchema.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value.type))" }.joined(separator: ", "))
        }
        if !item.formats.isEmpty { lines.append("formats:      \(item.formats.joined(separator: ", "))") }
        if !item.tags.isEmpty { lines.append("tags:         \(LakeJSON.compactString(item.tags))") }
        return (lines + CaseText.fieldLines(item.provisions)).joined(separator: "\n")
    }
}

struct DatasetPrefetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prefetch",
        abstract: "Bring a frozen dataset's blobs into this node's cache (a store with its blobs in a bucket) before training reads them.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The dataset: an id, NAME@latest, NAME@N or a NAME only one dataset has.") var id: String
    @Flag(help: "Print JSON: {\"blobs\", \"bytes\", \"fetched\", \"fetched_bytes\", \"already_here\"}.") var json = false

    func run() throws {
        try reportingErrors {
            let store = try options.openStore()
            let id = try DatasetNames.resolve(id, in: store.catalog)
            var bar: ProgressBar?
            let report = try DatasetPrefetch(store: store).run(id) { done, total in
                if bar == nil { bar = ProgressBar(label: id.rawValue, total: total) }
                bar?.update(done)
            }
            bar?.finish()
            if json { return print(LakeJSON.string(report, pretty: true)) }
            if store.config.bucket == nil {
                print("The store's blobs are on this machine: nothing to fetch (\(report.blobs) blob\(report.blobs == 1 ? "" : "s"), \(ByteCount.text(report.bytes))).")
            } else {
                print("Fetched \(report.fetched) blob\(report.fetched == 1 ? "" : "s") (\(ByteCount.text(report.fetchedBytes))) into this node's cache; "
                    + "\(report.alreadyHere) \(report.alreadyHere == 1 ? "was" : "were") here already. The dataset's \(ByteCount.text(report.bytes)) are on this node.")
            }
        }
    }
}
