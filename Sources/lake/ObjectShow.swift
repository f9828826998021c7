import ArgumentParser
import LakeCatalog
import LakeModel

struct ObjectShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Show an object and what it provides.")

    @OptionGroup var options: StoreOptions

    @Argument(help: "The object id.")
    var id: String

    @Flag(help: "Print everything as JSON.")
    var json = false

    func run() throws {
        let id = try objectID(id)
        try reportingErrors {
            let store = try options.openStore()
            guard let object = try store.catalog.object(id) else { throw CatalogError.notFound(id) }
            print(json ? LakeJSON.string(object, pretty: true) : ObjectText.details(object))
        }
    }
}
