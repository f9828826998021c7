import ArgumentParser
import LakeCatalog
import LakeModel

struct ObjectUpdateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Change an object's name, description or tags (params and content never change).")

    @OptionGroup var options: StoreOptions

    @Argument(help: "The object id.")
    var id: String

    @Option(help: "A new name.")
    var name: String?

    @Option(help: "A new description.")
    var description: String?

    @Option(help: "New tags as a JSON object; they replace the old ones wholesale ('{}' clears them).")
    var tags: String?

    @Option(help: "Geometry units, when none were declared at upload (set once).")
    var geometryUnits: String?

    @Flag(help: "Print the updated object as JSON.")
    var json = false

    func run() throws {
        let id = try objectID(id)
        guard name != nil || description != nil || tags != nil || geometryUnits != nil else {
            throw usageFailure("nothing to update: give --name, --description, --tags or --geometry-units")
        }
        let update = ObjectUpdate(
            name: name, description: description,
            tags: try tags.map { text in try parsing { () throws(InputError) in try Tags.parse(object: text) } },
            geometryUnits: try geometryUnits.map { text in try parsing { () throws(InputError) in try GeometryUnits.parse(text) } })
        try reportingErrors {
            let store = try options.openStore()
            let object = try store.catalog.updateObject(id, update, at: .now)
            if json { return try printEntityJSON(object) }
            print(ObjectText.details(object))
        }
    }
}
