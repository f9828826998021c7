import ArgumentParser
import LakeModel

struct ObjectList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List objects, newest first.")

    @OptionGroup var options: StoreOptions

    @Option(help: "At most this many objects.")
    var limit = 100

    @Option(help: "Continue after this object id (the next_cursor of a previous page).")
    var after: String?

    @Flag(help: "Print JSON: {\"objects\": [...], \"next_cursor\": ID or null}.")
    var json = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    struct Page: Encodable {
        var objects: [LakeObject]
        var nextCursor: LakeID?
        enum CodingKeys: String, CodingKey {
            case objects
            case nextCursor = "next_cursor"
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(objects, forKey: .objects)
            try c.encode(nextCursor, forKey: .nextCursor)
        }
    }

    func run() throws {
        let cursor = try after.map(objectID)
        try reportingErrors {
            let store = try options.openStore()
            // One more than asked tells whether another page exists.
            var objects = try store.catalog.objects(limit: limit + 1, after: cursor)
            let more = objects.count > limit
            if more { objects.removeLast() }
            let next = more ? objects.last?.id : nil
            if json {
                print(LakeJSON.string(Page(objects: objects, nextCursor: next), pretty: true))
            } else if objects.isEmpty {
                print("No objects.")
            } else {
                print(ObjectText.table(objects))
                if let next { print("… more: lake object ls --after \(next)") }
            }
        }
    }
}
