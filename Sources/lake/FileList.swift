import Foundation
import LakeCore
import LakeSystem

/// A file `lake upload` was given: its path as text, and its bytes when they are not UTF-8
/// (the text is then their lossless form, `\xHH` for each such byte).
struct GivenPath {
    var text: String
    var bytes: [UInt8]?

    /// An argument: its bytes are found among the process's own (`RawArguments`).
    init(argument: String) {
        bytes = RawArguments.index.undecodedBytes(of: argument)
        text = bytes.map(PathBytes.text) ?? argument
    }

    init(bytes raw: [UInt8]) {
        if let text = String(validating: raw, as: UTF8.self) {
            self.text = text
        } else {
            text = PathBytes.text(raw)
            bytes = raw
        }
    }
}

/// The paths `lake upload --files-from` reads: one per line, or separated by NUL bytes when the
/// list holds any (`find -print0`, whose names may contain line breaks). For more files than a
/// command line holds.
enum FileList {
    /// Reads the list at `source` (`-`: standard input), through the account's own rights.
    static func read(_ source: String) throws -> [GivenPath] {
        parse(try contents(of: source))
    }

    /// The bytes of a list given by name (`-`: standard input), opened with the account's own
    /// rights, read to its end: a pipe (`--files-from <(find …)`) has no size to go by.
    static func contents(of source: String) throws -> [UInt8] {
        if source == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
        let file = try UserFiles.openForReading(source)
        return withExtendedLifetime(file) {
            Array(FileHandle(fileDescriptor: file.descriptor, closeOnDealloc: false).readDataToEndOfFile())
        }
    }

    static func parse(_ bytes: [UInt8]) -> [GivenPath] {
        let separator: UInt8 = bytes.contains(0) ? 0 : UInt8(ascii: "\n")
        return bytes.split(separator: separator, omittingEmptySubsequences: true).map { GivenPath(bytes: Array($0)) }
    }
}
