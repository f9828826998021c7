import Synchronization

/// `lake upload`'s files after the first, taken out of the command line before the argument
/// parser sees it. The parser's time per value grows with the values before it
/// (swift-argument-parser 1.8 merges each value's record of where it came from into the whole
/// array's): 10,000 paths took 5.3 s to parse, 20,000 took 28 s and 40,000 83 s, before anything
/// was stored. The parser gets the same command with its first file; the rest join it in `run`.
enum UploadArguments {
    private static let taken = Mutex<[String]>([])

    /// The options that take a value, and the flags, of `lake upload` (`UploadArgumentsTests`
    /// checks them against the parser's own description of the command).
    static let valueOptions: Set<String> = ["--store", "--files-from", "--name", "--description", "--param", "--tag",
                                            "--geometry-units", "--annotate"]
    static let flags: Set<String> = ["--verbose", "--no-wait", "--json"]

    /// `arguments` (without the program's name) with the files after the first taken out and
    /// kept for `rest()`; unchanged when it is not an upload of many files, or holds anything
    /// this does not know (`--help`, a misspelt option: the parser then says what it says).
    static func lighten(_ arguments: [String]) -> [String] {
        guard arguments.first == "upload", arguments.count > 64 else { return arguments }
        var kept = ["upload"], files: [String] = []
        var index = 1
        var onlyFiles = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyFiles || argument == "-" || !argument.hasPrefix("-") {
                files.append(argument)
            } else if argument == "--" {
                onlyFiles = true
            } else if valueOptions.contains(argument) {
                guard index < arguments.count else { return arguments }
                kept += [argument, arguments[index]]
                index += 1
            } else if flags.contains(argument) || argument.split(separator: "=", maxSplits: 1).first.map({ valueOptions.contains(String($0)) && argument.contains("=") }) == true {
                kept.append(argument)
            } else {
                return arguments
            }
        }
        guard let first = files.first else { return arguments }
        taken.withLock { $0 = Array(files.dropFirst()) }
        // After `--`, a file named like an option is still a file.
        return kept + ["--", first]
    }

    /// The files `lighten` took out, in order.
    static func rest() -> [String] {
        taken.withLock { $0 }
    }
}
