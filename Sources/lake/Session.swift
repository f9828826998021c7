import Foundation
import Glibc
import LakeCore
import LakeModel
import LakeSystem

/// `lake` for an account that cannot open a shared store itself: the command runs in the
/// store's mount daemon (`SessionProtocol`, docs/security.md). This file only wires the two
/// ends: the client, here, and the child the daemon starts.
enum Session {
    /// The command line's subcommand (its first word).
    static func command(_ arguments: [String]) -> String? { arguments.first }

    /// The store a command line names: --store, else $LAKE_STORE, else the default.
    static func store(_ arguments: [String]) -> String {
        var explicit: String?
        for (index, argument) in arguments.enumerated() {
            if argument == "--store", index + 1 < arguments.count { explicit = arguments[index + 1] }
            if argument.hasPrefix("--store=") { explicit = String(argument.dropFirst("--store=".count)) }
        }
        return StoreLocation.resolve(explicit: explicit, environment: ProcessInfo.processInfo.environment)
    }

    /// Whether `store` exists but is not this account's to open (a shared store of root's).
    static func isNotOurs(_ store: String) -> Bool {
        access(store, F_OK) == 0 && access(Path.join(store, "lake.json"), R_OK) != 0 && errno == EACCES
    }

    // MARK: the client

    /// Runs the command through the store's mount daemon when this account cannot open the store
    /// but a daemon serves it; the exit status, or nil to run the command here.
    static func forwardIfNeeded(_ arguments: [String]) -> Int32? {
        guard getuid() != 0, let command = command(arguments), !arguments.contains("--help"), !arguments.contains("-h") else { return nil }
        let store = store(arguments)
        // Only a store that exists and is not ours to read goes through a daemon.
        guard isNotOurs(store) else { return nil }
        // An account's own dataset mount runs here, asking the daemon for the dataset itself.
        if command == "mount", arguments.contains(where: { $0 == "--dataset" || $0.hasPrefix("--dataset=") }) { return nil }
        guard SessionProtocol.permittedCommands.contains(command) else {
            let permitted = SessionProtocol.permittedCommands.sorted().joined(separator: ", ")
            FileHandle.standardError.write(Data("lake: \(command) needs the store itself, and \(store) is not yours to open (\(permitted) run through its mount daemon)\n".utf8))
            return 1
        }
        let socket = SessionProtocol.socketPath(forStore: store)
        let connection: Int32
        do { connection = try UnixSocket.connect(to: socket) } catch {
            let reason = String(cString: strerror((error as? SystemError)?.errno ?? ENOENT))
            let message = "lake: the store \(store) is not yours to open, and no mount daemon serves it to other accounts "
                + "(\(socket): \(reason)); ask its owner to mount it (lake mount)\n"
            FileHandle.standardError.write(Data(message.utf8))
            return 1
        }
        defer { close(connection) }
        let mask = umask(0)
        umask(mask)
        var environment = ProcessInfo.processInfo.environment.filter { SessionProtocol.passedEnvironment.contains($0.key) }
        environment[SessionProtocol.Environment.umask] = String(mask, radix: 8)
        // The child resolves nothing against this folder: the store goes as the absolute path
        // the socket was found by.
        var forwarded = arguments
        for index in forwarded.indices {
            if forwarded[index] == "--store", index + 1 < forwarded.count { forwarded[index + 1] = store }
            if forwarded[index].hasPrefix("--store=") { forwarded[index] = "--store=" + store }
        }
        do {
            do {
                // Arguments whose bytes are not UTF-8 (file names) go as bytes too.
                let raw = Array(RawArguments.all.dropFirst())
                let bytes = forwarded.indices.map { index in
                    index < raw.count && Array(String(decoding: raw[index], as: UTF8.self).utf8) == Array(forwarded[index].utf8)
                        ? raw[index] : Array(forwarded[index].utf8)
                }
                let run = SessionProtocol.Run(arguments: forwarded, environment: environment, argumentBytes: bytes)
                try UnixSocket.send(connection, SessionProtocol.encode(run),
                                    descriptors: [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO])
            } catch {
                // A daemon that refuses at once (too many sessions) may close before the request is
                // sent: its reason is still waiting to be read.
                guard let (payload, _) = try? UnixSocket.receive(connection),
                      let reply = try? SessionProtocol.decode(SessionProtocol.Reply.self, payload), let message = reply.message else { throw error }
                FileHandle.standardError.write(Data("lake: \(message)\n".utf8))
                return reply.exit ?? 1
            }
            // Answer the child's file requests until the daemon says how the command ended.
            while let (payload, descriptors) = try UnixSocket.receive(connection) {
                descriptors.forEach { close($0) }
                if let request = try? SessionProtocol.decode(SessionProtocol.FileRequest.self, payload) {
                    let (reply, fd) = UserFiles.answer(request)
                    try UnixSocket.send(connection, SessionProtocol.encode(reply), descriptors: fd.map { [$0] } ?? [])
                    if let fd { close(fd) }
                    continue
                }
                let reply = try SessionProtocol.decode(SessionProtocol.Reply.self, payload)
                if let message = reply.message { FileHandle.standardError.write(Data("lake: \(message)\n".utf8)) }
                return reply.exit ?? 1
            }
            FileHandle.standardError.write(Data("lake: the mount daemon ended the session without an answer\n".utf8))
        } catch {
            FileHandle.standardError.write(Data("lake: the session with the mount daemon failed: \(error)\n".utf8))
        }
        return 1
    }

    // MARK: the child

    /// In a child the daemon started for another account: act for it, open its files through
    /// the client, and refuse what sessions may not run. Nothing outside a session.
    static func enterIfSpawned(_ arguments: [String]) {
        // Every command starts here: the whole environment as a dictionary (about 3 % of a
        // command's start) only for a child a daemon spawned.
        guard getenv(SessionProtocol.Environment.descriptor) != nil else { return }
        let environment = ProcessInfo.processInfo.environment
        guard let descriptor = environment[SessionProtocol.Environment.descriptor].flatMap(Int32.init),
              let text = environment[SessionProtocol.Environment.account],
              let account = try? SessionProtocol.decode(Account.self, Array(text.utf8)) else { return }
        Account.actFor(account)
        UserFiles.openThroughSession(descriptor)
        if let mask = environment[SessionProtocol.Environment.umask].flatMap({ mode_t($0, radix: 8) }) { umask(mask & 0o777) }
        guard let command = command(arguments), SessionProtocol.permittedCommands.contains(command) else {
            FileHandle.standardError.write(Data("lake: this command needs the store itself (root)\n".utf8))
            exit(1)
        }
        // The daemon's store only: --store may name it (that is how the client found the daemon), nothing else.
        if let served = environment[SessionProtocol.Environment.store],
           Syscall.canonicalPath(store(arguments)) != Syscall.canonicalPath(served) {
            FileHandle.standardError.write(Data("lake: this mount daemon serves \(served) only\n".utf8))
            exit(1)
        }
    }
}
