import Foundation
import LakeTestSupport
import Testing

/// What every command-line tool is expected to offer: a version and shell completion.
@Suite struct ConventionsTests {
    @Test func versionNamesTheNumberAndTheCommit() throws {
        let result = try LakeBinary().run(["--version"], store: false)
        #expect(result.status == 0, "\(result.stderr)")
        let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // The commit of the checkout built (12 hex digits, "+changes" when files differ), or
        // "unknown" outside a git checkout.
        let pattern = #/^lake \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(\+changes)?|unknown)\)$/#
        #expect(text.wholeMatch(of: pattern) != nil, "\(text)")
        if let head = try? Command.output("/usr/bin/env", ["git", "-C", LakeBinary.repository, "rev-parse", "--short=12", "HEAD"]) {
            #expect(text.contains(head.trimmingCharacters(in: .whitespacesAndNewlines)) || text.contains("unknown"), "\(text) vs HEAD \(head)")
        }
    }

    /// lake(1) is generated from the command tree: every command is in it, and it is valid roff.
    @Test func theManualCoversEveryCommand() throws {
        let lake = LakeBinary()
        let page = try lake.run(["manual"], store: false)
        #expect(page.status == 0 && page.stdout.hasPrefix(".TH LAKE 1 "), "\(page.stdout.prefix(200))")
        for command in ["lake init", "lake upload", "lake object annotate", "lake dataset freeze", "lake wait", "lake status",
                        "lake mount", "lake completion", "lake manual"] {
            #expect(page.stdout.contains(".SS \"\(command)\""), "\(command) missing")
        }
        #expect(page.stdout.contains("--allow-unmatched") && !page.stdout.contains(".SS \"lake dataset serve\""))
        // No line may start a roff request by accident; groff (where installed) finds nothing wrong.
        let file = lake.directory.write("lake.1", page.stdout)
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/groff") {
            let check = try Shell.run("groff -k -man -Tutf8 -ww -z '\(file)' 2>&1")
            #expect(check.status == 0 && check.output.isEmpty, "\(check.output)")
        }
    }

    @Test func completionScriptsCoverTheCommands() throws {
        let lake = LakeBinary()
        let bash = try lake.run(["completion", "bash"], store: false)
        #expect(bash.status == 0)
        for command in ["upload", "object", "status", "wait", "completion"] { #expect(bash.stdout.contains(command), "\(command)") }
        let script = lake.directory.write("lake.bash", bash.stdout)
        #expect(try Shell.run("bash -n '\(script)'").status == 0, "the bash script does not parse")
        let zsh = try lake.run(["completion", "zsh"], store: false)
        #expect(zsh.status == 0 && zsh.stdout.contains("#compdef lake"))
        let fish = try lake.run(["completion", "fish"], store: false)
        #expect(fish.status == 0 && fish.stdout.contains("complete -c 'lake'"))
        let unknown = try lake.run(["completion", "tcsh"], store: false)
        #expect(unknown.status == 64 && unknown.stderr.contains("bash, zsh or fish"))
    }
}
