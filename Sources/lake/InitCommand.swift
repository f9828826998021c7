import ArgumentParser
import LakeCore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a store (an existing store is left unchanged).")

    @OptionGroup var options: StoreOptions

    func run() throws {
        try reportingErrors {
            switch try Store.create(at: options.storePath, logger: options.logger) {
            case .created(let store):
                print("Created a Lake store at \(store.root)")
            case .alreadyExists(let store):
                print("A Lake store already exists at \(store.root); nothing was changed.")
            }
        }
    }
}
