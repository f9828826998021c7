import ArgumentParser
import LakeModel

struct ObjectList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List objects, newest first; filters AND together.")

    @OptionGroup var options: StoreOptions
    @OptionGroup var filtering: FilterOptions

    @Flag(help: "Print JSON: {\"objects\": [...], \"next_cursor\": ID or null}.")
    var json = false

    func run() throws {
        let filter = try filtering.filter()
        let cursor = try filtering.cursor(.object)
        try reportingErrors {
            let store = try options.openStore()
            // One more than asked tells whether another page exists.
            if json {
                // The stored provisions laid out as they are: decoding them to write them again
                // was half the time of a page of many fields.
                let fetched = try store.catalog.storedObjects(matching: filter.isEmpty ? nil : filter, limit: filtering.limit + 1, after: cursor)
                return try Page(key: "objects", fetched: fetched, limit: filtering.limit, id: \.object.id).printJSON()
            }
            let fetched = try filter.isEmpty ? store.catalog.objects(limit: filtering.limit + 1, after: cursor)
                : store.catalog.objects(matching: filter, limit: filtering.limit + 1, after: cursor)
            try Page(key: "objects", fetched: fetched, limit: filtering.limit, id: \.id)
                .show(json: false, none: "No objects.", command: "object ls", table: ObjectText.table)
        }
    }
}
