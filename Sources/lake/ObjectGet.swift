#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import LakeCatalog
import LakeCore
import LakeModel
import LakeSystem

struct ObjectGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Write an object's bytes to a file (default: its file name here) or to stdout (-o -), checking their hash.")

    @OptionGroup var options: StoreOptions

    @Argument(help: "The object id.")
    var id: String

    @Option(name: .shortAndLong, help: "Where to write: a path, or - for stdout.")
    var output: String?

    @Flag(help: "Overwrite an existing file.")
    var force = false

    func run() throws {
        let id = try objectID(id)
        try reportingErrors {
            let store = try options.openStore()
            guard let object = try store.catalog.object(id) else { throw CatalogError.notFound(id) }
            guard let blob = object.file.blob else {
                throw CatalogError.refused("object \(id) has no stored bytes (status \(object.status.rawValue))")
            }
            let destination = output ?? object.file.name
            if destination == "-" {
                try BlobIntegrity(store: store).stream(blob) { try Syscall.writeAll(STDOUT_FILENO, $0, path: "stdout") }
                return
            }
            if !force, try UserFiles.exists(destination) {
                throw CatalogError.refused("\(destination) already exists; use --force to overwrite it or -o to choose another path")
            }
            // All or nothing: a damaged blob never leaves a half-written file behind.
            let temporary = Path.join(Path.parent(of: destination), ".\(Path.lastComponent(of: destination)).lake-get-\(getpid())")
            do {
                let fd = try UserFiles.create(temporary, mode: 0o644)
                defer { Syscall.close(fd) }
                try BlobIntegrity(store: store).stream(blob) { try Syscall.writeAll(fd, $0, path: temporary) }
                try Syscall.fsync(fd, path: temporary)
                try UserFiles.rename(temporary, to: destination)
            } catch {
                try? UserFiles.unlinkIfPresent(temporary)
                throw error
            }
            FileHandleOutput.status("Wrote \(ByteCount.text(blob.size)) to \(destination)")
        }
    }
}

enum FileHandleOutput {
    /// Status lines go to stderr so stdout stays clean for data.
    static func status(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
