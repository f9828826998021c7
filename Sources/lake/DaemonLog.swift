import Foundation
import LakeSystem
import Logging

/// The mount daemon's log: <store>/logs/mount.log always (`path` for an account's own mount of
/// a store it cannot open), and stderr in the foreground. A background daemon's stderr already
/// is that file. Both fold runs of the same line and the file keeps under 64 MiB (`LogFile`).
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

    /// The daemon's logger (to its file, or stderr alone if the file cannot be opened; in the
    /// foreground to stderr too, and in the background stderr is the file itself), and what
    /// writes the counts of repeats still running when the daemon ends.
    static func logger(path: String, verbose: Bool, toStderr: Bool) -> (Logger, flush: @Sendable () -> Void) {
        try? Syscall.makeDirectories(Path.parent(of: path))
        let file = try? LogFile(path: path, standardStreams: !toStderr)
        let standardError = LogFile(standardErrorWith: .seconds(10))
        var logger = Logger(label: "lake-mount") { label in
            var handlers: [any LogHandler] = []
            if toStderr || file == nil { handlers.append(LogFileHandler(label: label, file: standardError)) }
            if let file { handlers.append(LogFileHandler(label: label, file: file)) }
            return MultiplexLogHandler(handlers)
        }
        let fromEnvironment = ProcessInfo.processInfo.environment["LAKE_LOG"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = verbose ? .debug : (fromEnvironment ?? .info)
        return (logger, {
            file?.flush(at: timestamp())
            if toStderr { standardError.flush(at: timestamp()) }
        })
    }

    /// The time at the start of a line (local time, as swift-log's stream handler writes it).
    static func timestamp() -> String {
        var now = time(nil)
        var local = tm()
        guard localtime_r(&now, &local) != nil else { return "\(now)" }
        var buffer = [Int8](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &local)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Writes log lines to the daemon's `LogFile` (which folds repeats and bounds its size).
struct LogFileHandler: LogHandler {
    let label: String
    let file: LogFile
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let details = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        // swift-log's stream handler's layout, which the daemon's log always had.
        let key = "\(event.level) \(label):\(details) [\(event.source)] \(event.message)"
        let time = DaemonLog.timestamp()
        file.write("\(time) \(key)\n", key: key, at: time)
    }
}
