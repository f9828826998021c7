import ArgumentParser
import Foundation
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
            if json {
                // The stored provisions laid out into the object's JSON, as the mount's object.json
                // is, rather than decoded and encoded again (seconds for an object of 40,000 series).
                guard let stored = try store.catalog.storedObject(id) else { throw CatalogError.notFound(id) }
                if let bytes = stored.prettyJSON { return FileHandle.standardOutput.write(Data(bytes)) }
            }
            guard let object = try store.catalog.object(id) else { throw CatalogError.notFound(id) }
            print(json ? LakeJSON.string(object, pretty: true) : ObjectText.details(object))
        }
    }
}
