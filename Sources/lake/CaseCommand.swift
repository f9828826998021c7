import ArgumentParser
import LakeCatalog
import LakeModel
import LakeSystem

struct CaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case", abstract: "Group objects into cases.",
        subcommands: [CaseCreate.self, CaseShow.self, CaseList.self, CaseUpdate.self, CaseRemove.self, AccessChmod<CaseAccess>.self, AccessChgrp<CaseAccess>.self])
}

func caseID(_ text: String) throws -> LakeID {
    try parsing { () throws(InputError) in try LakeID(validating: text, kind: .case) }
}

/// `ID:FROM=TO` (rename) or `ID:FROM=` (drop), as --param-map and --field-map take them.
func mappingEntry(_ text: String, option: String) throws(InputError) -> (LakeID, String, String?) {
    guard let colon = text.firstIndex(of: ":"), let equals = text[colon...].firstIndex(of: "=") else {
        throw InputError("\(option) '\(text)' must look like ID:FROM=TO (rename) or ID:FROM= (drop)")
    }
    let id = try LakeID(validating: String(text[..<colon]), kind: .object)
    let from = String(text[text.index(after: colon)..<equals]), to = String(text[text.index(after: equals)...])
    guard !from.isEmpty else { throw InputError("\(option) '\(text)' names no key before '='") }
    return (id, from, to.isEmpty ? nil : to)
}

struct CaseCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a case from objects (members never change afterwards).")

    @OptionGroup var options: StoreOptions

    @Option(help: "A member object, with an optional role label: ID or ID:LABEL (repeatable).")
    var object: [String] = []

    @Option(help: "Rename a member's param (ID:FROM=TO) or drop it (ID:FROM=) (repeatable).")
    var paramMap: [String] = []

    @Option(help: "Rename a member's field label (ID:FROM=TO) or drop the field (ID:FROM=) (repeatable).")
    var fieldMap: [String] = []

    @Option(help: "A case-level param KEY=VALUE[@UNITS] (repeatable).")
    var param: [String] = []

    @Option(help: "A tag KEY=VALUE (repeatable).")
    var tag: [String] = []

    @Option(help: "The case's name.")
    var name: String?

    @Option(help: "Who may read it (and its members' files) through the mount, in octal (default: 666 less the umask, so usually 644).")
    var mode: String?

    @Flag(help: "Print the case as JSON.")
    var json = false

    func run() throws {
        guard !object.isEmpty else { throw usageFailure("a case needs at least one --object ID[:LABEL]") }
        let owner = try AccessChange.creator(mode: mode)
        let now = Timestamp.now
        let draft = try parsing { () throws(InputError) -> LakeCase in
            var members: [CaseMember] = []
            for text in object + LongCommandLines.rest(of: "--object") {
                let parts = text.split(separator: ":", maxSplits: 1)
                let id = try LakeID(validating: String(parts[0]), kind: .object)
                let label = parts.count > 1 ? String(parts[1]) : nil
                if label?.isEmpty == true || label?.contains("/") == true {
                    throw InputError("--object '\(text)': a label is a non-empty name without '/'")
                }
                members.append(CaseMember(objectId: id, label: label))
            }
            for (option, entries) in [("--param-map", paramMap + LongCommandLines.rest(of: "--param-map")),
                                      ("--field-map", fieldMap + LongCommandLines.rest(of: "--field-map"))] {
                for text in entries {
                    let (id, from, to) = try mappingEntry(text, option: option)
                    guard let index = members.firstIndex(where: { $0.objectId == id }) else {
                        throw InputError("\(option) '\(text)' names \(id), which is not a member (add it with --object)")
                    }
                    if option == "--param-map" { members[index].paramMapping[from] = .some(to) } else { members[index].fieldMapping[from] = .some(to) }
                }
            }
            var caseParams: [String: Param] = [:]
            for text in param {
                let (key, value) = try Param.parse(assignment: text)
                caseParams[key] = value
            }
            var tags: [String: JSONValue] = [:]
            for text in tag {
                let (key, value) = try Tags.parse(assignment: text)
                tags[key] = value
            }
            return LakeCase(id: LakeID.make(.case, at: now.milliseconds), name: name ?? "", status: .unsettled, members: members,
                            params: [:], caseParams: caseParams, tags: tags, createdAt: now, createdBy: Account.current.name,
                            owner: owner)
        }
        try reportingErrors {
            let created = try options.openStore().catalog.createCase(draft)
            if json { return try printEntityJSON(created) }
            print(CaseText.details(created))
        }
    }
}

struct CaseShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a case.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The case id.") var id: String
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let id = try caseID(id)
        try reportingErrors {
            guard let found = try options.openStore().catalog.case(id) else { throw CatalogError.notFound(id) }
            if json { return try printEntityJSON(found) }
            print(CaseText.details(found))
        }
    }
}

struct CaseList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List cases, newest first; filters select cases with some member object matching.")
    @OptionGroup var options: StoreOptions
    @OptionGroup var filtering: FilterOptions
    @Flag(help: "Print JSON: {\"cases\": [...], \"next_cursor\": ID or null}.") var json = false

    func run() throws {
        let filter = try filtering.filter()
        let cursor = try filtering.cursor(.case)
        try reportingErrors {
            let fetched = try options.openStore().catalog.cases(matching: filter, limit: filtering.limit + 1, after: cursor)
            try Page(key: "cases", fetched: fetched, limit: filtering.limit, id: \.id).show(json: json, none: "No cases.", command: "case ls") { items in
                (["\("ID".padding(31)) \("STATUS".padding(10)) \("MEMBERS".padding(8)) NAME"] + items.map { item in
                    "\(item.id.rawValue.padding(31)) \(item.status.rawValue.padding(10)) \(String(item.members.count).padding(8)) \(item.name)"
                }).joined(separator: "\n")
            }
        }
    }
}

struct CaseUpdate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a case's name or tags (members never change).")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The case id.") var id: String
    @Option(help: "A new name.") var name: String?
    @Option(help: "New tags as a JSON object; they replace the old ones ('{}' clears them).") var tags: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let id = try caseID(id)
        guard name != nil || tags != nil else { throw usageFailure("nothing to update: give --name or --tags") }
        let newTags = try tags.map { text in try parsing { () throws(InputError) in try Tags.parse(object: text) } }
        try reportingErrors {
            let updated = try options.openStore().catalog.updateCase(id, name: name, tags: newTags, at: .now)
            if json { return try printEntityJSON(updated) }
            print(CaseText.details(updated))
        }
    }
}

struct CaseRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove a case (its objects stay); refused while a frozen dataset holds it.")
    @OptionGroup var options: StoreOptions
    @Argument(help: "The case id.") var id: String

    func run() throws {
        let id = try caseID(id)
        try reportingErrors {
            try options.openStore().catalog.deleteCase(id, at: .now)
            print("Removed \(id).")
        }
    }
}

/// Human-readable views of cases and datasets.
enum CaseText {
    static func details(_ item: LakeCase) -> String {
        var lines = ["id:           \(item.id)", "name:         \(item.name)", "status:       \(item.status.rawValue)"]
        if let reason = item.failureReason { lines.append("failure:      \(reason)") }
        lines.append("created:      \(item.createdAt.rfc3339) by \(item.createdBy)")
        lines.append("members:")
        for member in item.members {
            var line = "  \(member.objectId)" + (member.label.map { "  as \($0)" } ?? "")
            let maps = member.paramMapping.sorted { $0.key < $1.key }.map { "param \($0.key)→\($0.value ?? "(dropped)")" }
                + member.fieldMapping.sorted { $0.key < $1.key }.map { "field \($0.key)→\($0.value ?? "(dropped)")" }
            if !maps.isEmpty { line += "  [" + maps.joined(separator: ", ") + "]" }
            lines.append(line)
        }
        if !item.params.isEmpty {
            lines.append("params:       " + item.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.value.json.compactText)" + ($0.value.units.map { "@\($0)" } ?? "") }.joined(separator: " "))
        }
        if !item.tags.isEmpty { lines.append("tags:         \(LakeJSON.compactString(item.tags))") }
        if !item.formats.isEmpty { lines.append("formats:      \(item.formats.joined(separator: ", "))") }
        if let mesh = item.mesh { lines.append("mesh:         \(ObjectText.meshLine(mesh))") }
        return (lines + fieldLines(item.provisions)).joined(separator: "\n")
    }

    /// The pooled fields as a table under "fields:" (nothing when there are none).
    static func fieldLines(_ provisions: [Provision]) -> [String] {
        let fields = provisions.compactMap { provision -> Field? in
            if case .field(let field) = provision { return field }
            return nil
        }
        return fields.isEmpty ? [] : ["fields:"] + FieldTable.render(fields).map { "  " + $0 }
    }
}
