import ArgumentParser
import LakeCore
import LakeModel

struct ObjectAnnotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "annotate",
        abstract: "Say what a READY object's fields mean: LABEL:POINT|CELL=QUANTITY[@UNITS] (set once per field).")

    @OptionGroup var options: StoreOptions

    @Argument(help: "The object id.")
    var id: String

    @Argument(help: "Annotations, e.g. p:POINT=PRESSURE@Pa U:POINT=VELOCITY.")
    var annotations: [String]

    @Flag(help: "Print the object as JSON.")
    var json = false

    @Flag(help: "Record annotations that match no field (as warnings) instead of refusing them.")
    var allowUnmatched = false

    func validate() throws {
        if annotations.isEmpty { throw ValidationError("give at least one annotation, e.g. p:POINT=PRESSURE") }
    }

    func run() throws {
        let id = try objectID(id)
        let parsed = try annotations.map { text in try parsing { () throws(InputError) in try FieldAnnotation.parse(text) } }
        try reportingErrors {
            let store = try options.openStore()
            let earlier = Set(try store.catalog.object(id)?.warnings ?? [])
            let object = try Annotator(store: store).annotate(id, with: parsed, allowUnmatched: allowUnmatched)
            for warning in object.warnings where !earlier.contains(warning) { printWarning(warning) }
            // One line (the whole object with --json, or `lake object show`).
            if json { return try printEntityJSON(object) }
            print("Annotated \(parsed.count) field\(parsed.count == 1 ? "" : "s") of \(ObjectText.line(object))")
        }
    }
}
