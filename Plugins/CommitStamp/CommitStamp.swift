import Foundation
import PackagePlugin

/// Writes the commit the `lake` being built comes from into a source file before each build, so
/// `lake --version` names it (with "+changes" when tracked files differ from it). The file is
/// rewritten only when that changes, so an ordinary rebuild compiles nothing more. Outside a git
/// checkout (or where git refuses it) the commit is "unknown".
@main
struct CommitStamp: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("Stamp")
        let script = """
            commit=$(git -C "$1" rev-parse --short=12 HEAD 2>/dev/null) || commit=unknown
            if [ "$commit" != unknown ] && [ -n "$(git -C "$1" status --porcelain --untracked-files=no 2>/dev/null | head -n 1)" ]; then
              commit="$commit+changes"
            fi
            mkdir -p "$2"
            line="let lakeCommit = \\"$commit\\""
            [ "$(cat "$2/Commit.swift" 2>/dev/null)" = "$line" ] || printf '%s\\n' "$line" > "$2/Commit.swift"
            """
        return [.prebuildCommand(displayName: "Stamping the commit into lake",
                                 executable: URL(fileURLWithPath: "/bin/sh"),
                                 arguments: ["-c", script, "stamp", context.package.directoryURL.path, output.path],
                                 outputFilesDirectory: output)]
    }
}
