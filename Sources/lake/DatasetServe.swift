import ArgumentParser
import LakeCore
import LakeModel
import LakeSystem

/// The store's side of an account's own `lake mount --dataset` (security.md): run by the mount
/// daemon in a session for that account, never by hand.
struct DatasetServe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve a frozen dataset to a mount of the calling account (internal).", shouldDisplay: false)

    @OptionGroup var options: StoreOptions
    @Argument var id: String
    @Option var mountpoint: String

    func run() throws {
        let id = try datasetID(id)
        try reportingErrors {
            guard let connection = UserFiles.sessionConnection else {
                throw usageFailure("lake dataset serve runs only in a session of the store's mount daemon")
            }
            try DatasetServing.serve(id, store: try options.openStore(), connection: connection, mountpoint: mountpoint)
        }
    }
}
