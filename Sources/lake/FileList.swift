import Foundation
import LakeCore
import LakeSystem

/// The paths `lake upload --files-from` reads: one per line, or separated by NUL bytes when the
/// list holds any (`find -print0`, whose names may contain line breaks). For more files than a
/// command line holds, and without the argument parser's cost per argument (which grows with
/// their number: 20,000 arguments took 2.7 s to parse).
enum FileList {
    struct Entries {
        var paths: [String] = []
        /// Names whose bytes are not UTF-8, written losslessly (`\xHH`): text cannot carry them.
        var undecodable: [String] = []
    }

    /// Reads the list at `source` (`-`: standard input), through the account's own rights.
    static func read(_ source: String) throws -> Entries {
        let bytes: [UInt8]
        if source == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            let file = try UserFiles.openForReading(source)
            bytes = try file.bytes(at: 0, count: Int(file.size))
        }
        return parse(bytes)
    }

    static func parse(_ bytes: [UInt8]) -> Entries {
        let separator: UInt8 = bytes.contains(0) ? 0 : UInt8(ascii: "\n")
        var entries = Entries()
        for entry in bytes.split(separator: separator, omittingEmptySubsequences: true) {
            if let path = String(validating: entry, as: UTF8.self) {
                entries.paths.append(path)
            } else {
                entries.undecodable.append(FileName(bytes: Array(entry)).lossless)
            }
        }
        return entries
    }
}
