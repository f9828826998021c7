import Foundation
import LakeSystem
import Logging

/// The mount daemon's log: <store>/logs/mount.log always (`path` for an account's own mount of
/// a store it cannot open), and stderr in the foreground. A background daemon's stderr already
/// is that file.
enum DaemonLog {
    static func path(store: String) -> String { Path.join(store, "logs/mount.log") }

    /// Where an account's own dataset mount of a store it cannot open logs: its runtime folder,
    /// else its cache, else nowhere.
    static func ownPath() -> String {
        let environment = ProcessInfo.processInfo.environment
        for folder in [environment["XDG_RUNTIME_DIR"], environment["HOME"].map { Path.join($0, ".cache") }].compactMap({ $0 })
        where !folder.isEmpty && access(folder, W_OK) == 0 {
            return Path.join(folder, "lake-mount.log")
        }
        return "/dev/null"
    }

    static func logger(store: String, verbose: Bool, toStderr: Bool) -> Logger {
        logger(path: path(store: store), verbose: verbose, toStderr: toStderr)
    }

    static func logger(path: String, verbose: Bool, toStderr: Bool) -> Logger {
        try? Syscall.makeDirectories(Path.parent(of: path))
        if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
        let file = FileHandle(forWritingAtPath: path)
        var logger = Logger(label: "lake-mount") { label in
            var handlers: [any LogHandler] = [StreamLogHandler.standardError(label: label)]
            if toStderr, let file { handlers.append(FileLogHandler(label: label, file: file)) }
            return MultiplexLogHandler(handlers)
        }
        let fromEnvironment = ProcessInfo.processInfo.environment["LAKE_LOG"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = verbose ? .debug : (fromEnvironment ?? .info)
        return logger
    }
}

/// Appends log lines to a file.
struct FileLogHandler: LogHandler {
    let label: String
    let file: FileHandle
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let details = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let line = "\(Date()) \(event.level) \(label): \(event.message)\(details)\n"
        file.seekToEndOfFile()
        file.write(Data(line.utf8))
    }
}
