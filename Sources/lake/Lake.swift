import ArgumentParser
import Glibc
import LakeSystem

@main
struct Lake: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lake",
        abstract: "A data lake for simulation data.",
        discussion: """
            The store is chosen by --store, else $LAKE_STORE, else /var/lib/lake (root) or
            ~/.local/share/lake (other users). Logging: --verbose or LAKE_LOG=debug.
            """,
        version: LakeVersion.text,
        subcommands: [InitCommand.self, UploadCommand.self, ObjectCommand.self, CaseCommand.self, DatasetCommand.self, MountCommand.self, UnmountCommand.self, ProcessCommand.self,
                      WaitCommand.self, StatusCommand.self, TrashCommand.self, VerifyCommand.self, CompletionCommand.self, ManualCommand.self, GCCommand.self, QuotaCommand.self, LogCommand.self])

    /// An account that cannot open a shared store runs its command through the store's mount
    /// daemon (`Session`); a child the daemon starts acts for that account.
    static func main() {
        // Every command, not only a mount's daemon: `lake process` of a manifest holds each of
        // its blocks open (3,000 blocks failed under the soft limit of 1,024).
        Syscall.raiseDescriptorLimit()
        let arguments = Array(CommandLine.arguments.dropFirst())
        Session.enterIfSpawned(arguments)
        if let status = Session.forwardIfNeeded(arguments) { Glibc.exit(status) }
        main(LongCommandLines.lighten(arguments))
    }
}
