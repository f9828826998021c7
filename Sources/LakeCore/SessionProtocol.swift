import Foundation
import LakeModel
import LakeSystem

/// The mount daemon's session socket (docs/security.md, "The CLI for every account"): an
/// account that cannot open a shared store itself runs `lake` commands through the store's
/// mount daemon. The client sends its arguments with its stdin, stdout and stderr; the daemon
/// runs `lake` as a child that acts for the account the kernel names (SO_PEERCRED) and opens
/// the account's own files only by asking the client (which opens them with its own rights);
/// the daemon then sends the child's exit status.
public enum SessionProtocol {
    /// Where the daemon of the store at `store` listens: one socket per store, in a folder
    /// every account can reach (the store itself is its owner's alone).
    public static func socketPath(forStore store: String) -> String {
        let canonical = Syscall.canonicalPath(store)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a: a stable name, not a secret
        for byte in canonical.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Path.join(socketFolder, String(hash, radix: 16) + ".sock")
    }

    public static let socketFolder = "/run/lake"

    /// A session's child holds the write end of a pipe whose read end only the daemon holds, as
    /// this descriptor: it reports an error (POLLERR) once the daemon is gone, however it ended.
    public static let daemonDescriptor: Int32 = 4

    /// The environment variables that make a `lake` process a session's child.
    public enum Environment {
        public static let descriptor = "LAKE_SESSION_FD"
        public static let account = "LAKE_SESSION_ACCOUNT"
        public static let store = "LAKE_STORE"
        /// The client's umask (octal): what a case or dataset made without --mode gets.
        public static let umask = "LAKE_SESSION_UMASK"
    }

    /// Subcommands a session may run; everything else (init, mount, gc, verify, process) needs
    /// the store itself.
    public static let permittedCommands: Set<String> = ["upload", "object", "case", "dataset", "quota", "log", "wait", "trash"]

    /// Whether a session's command serves an account's dataset mount (`DatasetServing`): it runs
    /// for as long as the mount, not to an end of its own.
    public static func servesDatasetMount(_ arguments: [String]) -> Bool {
        Array(arguments.filter { !$0.hasPrefix("-") }.prefix(2)) == ["dataset", "serve"]
    }

    /// The daemon's own environment variables a session's child gets: the credentials of the
    /// store's catalog and bucket (a node's come from its environment, never from lake.json), so
    /// the child opens the store as the daemon did. Never taken from the client.
    public static let storeCredentials = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD", "PGPASSFILE"]

    /// The client's environment variables a session's child sees (how to print, not what to do).
    public static let passedEnvironment = ["TERM", "COLUMNS", "LINES", "LANG", "LC_ALL", "NO_COLOR", "LAKE_LOG", "TZ", Environment.umask]

    /// Client → daemon, with stdin, stdout and stderr attached.
    public struct Run: Codable, Sendable {
        public var arguments: [String]
        public var environment: [String: String]
        /// Each argument's bytes, for those that are not UTF-8 (a file name of other bytes):
        /// the child is started with them wherever they decode to the argument given.
        public var argumentBytes: [[UInt8]]?
        public init(arguments: [String], environment: [String: String], argumentBytes: [[UInt8]]? = nil) {
            self.arguments = arguments
            self.environment = environment
            self.argumentBytes = argumentBytes
        }

        /// The child's argument `index` as bytes: the given bytes when they decode, byte for byte,
        /// to the argument the daemon checked — they differ from its text only where that has
        /// U+FFFD — else its text. Never for the store (`--store`), which the daemon compares
        /// with the store it serves: the child opens exactly the folder that was checked.
        public func bytes(ofArgument index: Int) -> [UInt8] {
            let text = Array(arguments[index].utf8)
            guard let given = argumentBytes, index < given.count, !given[index].contains(0),
                  Array(String(decoding: given[index], as: UTF8.self).utf8) == text,
                  !arguments[index].hasPrefix("--store"), index == 0 || arguments[index - 1] != "--store" else { return text }
            return given[index]
        }
    }

    /// Child → client: a file operation on the account's own files, done by the client.
    public struct FileRequest: Codable, Sendable {
        public enum Operation: String, Codable, Sendable { case open, exists, rename, unlink }
        public var operation: Operation
        public var path: String
        public var target: String?
        public var flags: Int32?
        public var mode: UInt32?
        /// The path's bytes when they are not UTF-8 (`path` is then their lossless text); a
        /// client that does not know this member opens `path`, which names no file.
        public var pathBytes: [UInt8]?
        public init(operation: Operation, path: String, target: String? = nil, flags: Int32? = nil, mode: UInt32? = nil,
                    pathBytes: [UInt8]? = nil) {
            self.operation = operation
            self.path = path
            self.target = target
            self.flags = flags
            self.mode = mode
            self.pathBytes = pathBytes
        }
    }

    /// An account's dataset mount → its session's child (`lake dataset serve`): open this blob
    /// of the dataset; the answer is a `Reply` with the descriptor.
    public struct BlobRequest: Codable, Sendable {
        public var blob: String
        /// The copy handed over read damaged (the mount's re-hash): the store checks its copy,
        /// and drops it (a bucket's cached copy) or records the damage (the only copy).
        public var readDamaged: Bool?
        public init(blob: String, readDamaged: Bool? = nil) {
            self.blob = blob
            self.readDamaged = readDamaged
        }
    }

    /// Client → child (the answer to a `FileRequest`, with the opened descriptor), or daemon →
    /// client (`exit`: the session is over).
    public struct Reply: Codable, Sendable {
        public var errno: Int32 = 0
        public var exists: Bool?
        public var exit: Int32?
        public var message: String?
        /// To a `BlobRequest` with `readDamaged`: the store recorded the blob as damaged.
        public var recorded: Bool?
        public init(errno: Int32 = 0, exists: Bool? = nil, exit: Int32? = nil, message: String? = nil, recorded: Bool? = nil) {
            self.errno = errno
            self.exists = exists
            self.exit = exit
            self.message = message
            self.recorded = recorded
        }
    }

    public static func encode<T: Encodable>(_ value: T) -> [UInt8] { Array(LakeJSON.data(value)) }

    public static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8]) throws -> T {
        do { return try LakeJSON.decoder().decode(type, from: Data(bytes)) } catch {
            throw SystemError("a malformed session message", path: "session socket", errno: EPROTO)
        }
    }
}
