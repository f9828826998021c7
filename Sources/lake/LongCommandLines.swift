import Synchronization

/// The many values of a command's last argument — `lake upload FILE…`, `lake wait ID…`, `lake
/// dataset add DATASET CASE…` — taken out of the command line before the argument parser sees
/// it. The parser's time per value grows with the values before it (swift-argument-parser 1.8
/// merges each value's record of where it came from into the whole array's, and copies the
/// array): 10,000 paths took 6.1 s to parse, 20,000 took 21 s, before anything was done. The
/// parser gets the same command with the first of those values; the rest join them in `run`.
enum LongCommandLines {
    /// A command whose last argument takes many values: how many arguments come before them,
    /// and its options that take a value and its flags (`LongCommandLinesTests` checks them
    /// against the parser's own description of each command).
    struct Shape: Sendable {
        var path: [String]
        var leading = 0
        var valueOptions: Set<String> = ["--store"]
        var flags: Set<String> = ["--verbose"]
    }

    static let shapes: [Shape] = {
        let idsAndJSON = [["object", "rm"], ["trash", "restore"]].map { Shape(path: $0, flags: ["--verbose", "--json"]) }
        let access = ["object", "case", "dataset"].flatMap { kind in
            ["chmod", "chgrp"].map { Shape(path: [kind, $0], leading: 1, flags: ["--verbose", "--json"]) }
        }
        let datasetCases = ["add", "remove"].map { Shape(path: ["dataset", $0], leading: 1, flags: ["--verbose", "--json"]) }
        return [
            Shape(path: ["upload"], valueOptions: ["--store", "--files-from", "--name", "--description", "--param", "--tag",
                                                   "--geometry-units", "--annotate"],
                  flags: ["--verbose", "--no-wait", "--json"]),
            Shape(path: ["wait"], valueOptions: ["--store", "--timeout"], flags: ["--verbose", "--json"]),
            Shape(path: ["object", "reprocess"], flags: ["--verbose", "--no-wait", "--json"]),
            Shape(path: ["trash", "purge"], flags: ["--verbose", "--expired", "--all", "--json"]),
        ] + idsAndJSON + access + datasetCases
    }()

    private static let taken = Mutex<[String]>([])

    /// Commands given fewer values than this are left whole to the parser.
    static let threshold = 64

    /// `arguments` (without the program's name) with the values after the first taken out and
    /// kept for `rest()`; unchanged for any other command or a short one, or one that holds
    /// anything this does not know (`--help`, a misspelt option: the parser then says what it says).
    static func lighten(_ arguments: [String]) -> [String] {
        guard arguments.count > threshold,
              let shape = shapes.first(where: { arguments.starts(with: $0.path) }) else { return arguments }
        var kept = shape.path, positionals: [String] = []
        var index = shape.path.count
        var onlyPositionals = false
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
            } else if argument == "--" {
                onlyPositionals = true
            } else if shape.valueOptions.contains(argument) {
                guard index < arguments.count else { return arguments }
                kept += [argument, arguments[index]]
                index += 1
            } else if shape.flags.contains(argument)
                        || (argument.contains("=") && shape.valueOptions.contains(String(argument.prefix { $0 != "=" }))) {
                kept.append(argument)
            } else {
                return arguments
            }
        }
        guard positionals.count > shape.leading + 1 else { return arguments }
        taken.withLock { $0 = Array(positionals.dropFirst(shape.leading + 1)) }
        // After `--`, a value that looks like an option is still a value.
        return kept + ["--"] + positionals.prefix(shape.leading + 1)
    }

    /// The values `lighten` took out, in order.
    static func rest() -> [String] {
        taken.withLock { $0 }
    }
}
