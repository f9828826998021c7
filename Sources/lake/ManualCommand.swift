import ArgumentParser

/// `lake manual`: the man page (roff), generated from the command tree so it never falls behind:
/// every command's and subcommand's help as `lake help` prints it. The quick start installs it as
/// lake(1): `lake manual > /usr/local/share/man/man1/lake.1`.
struct ManualCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manual",
        abstract: "Print the man page lake(1), generated from the commands.")

    func run() throws {
        print(Self.page())
    }

    static func page() -> String {
        var lines = [
            ".TH LAKE 1 \"\" \"\(LakeVersion.text)\" \"User Commands\"",
            ".SH NAME",
            "lake \\- \(escape(Lake.configuration.abstract))",
            ".SH SYNOPSIS",
            ".B lake",
            ".I command",
            "[\\fIoptions\\fR]",
            ".SH DESCRIPTION",
            escape(Lake.configuration.discussion),
            ".SH COMMANDS",
        ]
        for (path, command) in commands(Lake.self, path: []) {
            lines.append(".SS \"lake \(path.joined(separator: " "))\"")
            lines.append(".nf")
            lines.append(escape(Lake.helpMessage(for: command, columns: 100)))
            lines.append(".fi")
        }
        lines += [".SH SEE ALSO", "fusermount3(1), getfattr(1); the docs/ folder of the source, above all cli.md and semantics.md"]
        return lines.joined(separator: "\n")
    }

    /// Every command below `root` (depth first), with its words after `lake`.
    static func commands(_ root: any ParsableCommand.Type, path: [String]) -> [([String], any ParsableCommand.Type)] {
        var found: [([String], any ParsableCommand.Type)] = []
        for sub in root.configuration.subcommands {
            let words = path + [sub.configuration.commandName ?? "\(sub)"]
            if sub.configuration.shouldDisplay { found.append((words, sub)) }
            found += commands(sub, path: words)
        }
        return found
    }

    /// Text safe in roff: backslashes doubled, lines starting with '.' or "'" guarded.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\e").split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix(".") || line.hasPrefix("'") ? "\\&" + line : String(line)
        }.joined(separator: "\n")
    }
}
