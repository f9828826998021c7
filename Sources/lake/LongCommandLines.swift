import Synchronization

/// The many values of a command's last argument — `lake upload FILE…`, `lake wait ID…`, `lake
/// dataset add DATASET CASE…` — or of a repeated option (`case create --object ID`…), taken out
/// of the command line before the argument parser sees it. The parser's time per value grows with the values before it (swift-argument-parser 1.8
/// merges each value's record of where it came from into the whole array's, and copies the
/// array): 10,000 paths took 6.1 s to parse, 20,000 took 21 s, before anything was done. The
/// parser gets the same command with the first of those values; the rest join them in `run`.
enum LongCommandLines {
    /// A command whose last argument takes many values: how many arguments come before them,
    /// and its options that take a value and its flags (`LongCommandLinesTests` checks them
    /// against the parser's own description of each command).
    struct Shape: Sendable {
        var path: [String]
        /// Whether the command's last argument takes many values (false: only options repeat).
        var takesValues = true
        var leading = 0
        var valueOptions: Set<String> = ["--store"]
        var flags: Set<String> = ["--verbose"]
        /// Options given many times (`case create --object ID` ×2,000): their values after the
        /// first are taken out too.
        var repeated: Set<String> = []
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
            Shape(path: ["case", "create"], takesValues: false,
                  valueOptions: ["--store", "--object", "--param-map", "--field-map", "--param", "--tag", "--name", "--mode"],
                  flags: ["--verbose", "--json"], repeated: ["--object", "--param-map", "--field-map"]),
            Shape(path: ["dataset", "create"], takesValues: false,
                  valueOptions: ["--store", "--name", "--description", "--case", "--cases-from", "--tag", "--mode"],
                  flags: ["--verbose", "--json"], repeated: ["--case"]),
        ] + idsAndJSON + access + datasetCases
    }()

    /// What `lighten` took out: the last argument's values under "", a repeated option's under its name.
    private static let taken = Mutex<[String: [String]]>([:])

    /// Commands given fewer values than this are left whole to the parser.
    static let threshold = 64

    /// `arguments` (without the program's name) with the values after the first taken out and
    /// kept for `rest()`; unchanged for any other command or a short one, or one that holds
    /// anything this does not know (`--help`, a misspelt option: the parser then says what it says).
    static func lighten(_ arguments: [String]) -> [String] {
        guard arguments.count > threshold,
              let shape = shapes.first(where: { arguments.starts(with: $0.path) }) else { return arguments }
        var kept = shape.path, positionals: [String] = []
        var options: [String: [String]] = [:], keptOnce: Set<String> = []
        var index = shape.path.count
        var onlyPositionals = false
        /// Keeps an option's value, or takes it out when the option is repeated and was kept once.
        func option(_ name: String, _ value: String, as written: [String]) {
            if shape.repeated.contains(name), !keptOnce.insert(name).inserted {
                options[name, default: []].append(value)
            } else {
                kept += written
            }
        }
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if onlyPositionals || argument == "-" || !argument.hasPrefix("-") {
                positionals.append(argument)
            } else if argument == "--" {
                onlyPositionals = true
            } else if shape.valueOptions.contains(argument) {
                guard index < arguments.count else { return arguments }
                option(argument, arguments[index], as: [argument, arguments[index]])
                index += 1
            } else if shape.flags.contains(argument) {
                kept.append(argument)
            } else if let equals = argument.firstIndex(of: "="), shape.valueOptions.contains(String(argument[..<equals])) {
                option(String(argument[..<equals]), String(argument[argument.index(after: equals)...]), as: [argument])
            } else {
                return arguments
            }
        }
        if !positionals.isEmpty {
            guard shape.takesValues else { return arguments }
            let first = shape.leading + 1
            if positionals.count > first { options[""] = Array(positionals.dropFirst(first)) }
            // After `--`, a value that looks like an option is still a value.
            kept += ["--"] + positionals.prefix(first)
        }
        guard !options.isEmpty else { return arguments }
        taken.withLock { $0 = options }
        return kept
    }

    /// The values of the last argument `lighten` took out, in order.
    static func rest() -> [String] {
        taken.withLock { $0[""] ?? [] }
    }

    /// The values of a repeated option `lighten` took out, in order.
    static func rest(of option: String) -> [String] {
        taken.withLock { $0[option] ?? [] }
    }
}
