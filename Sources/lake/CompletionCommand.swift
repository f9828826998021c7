import ArgumentParser

/// `lake completion bash|zsh|fish`: the shell's completion script, generated from the command
/// tree (so it never falls behind the commands). Install with, for bash:
/// `lake completion bash > /etc/bash_completion.d/lake`.
struct CompletionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "completion",
        abstract: "Print the shell completion script (bash, zsh or fish).")

    @Argument(help: "bash, zsh or fish.")
    var shell: String

    func run() throws {
        guard let kind = CompletionShell(rawValue: shell) else {
            throw ValidationError("unknown shell '\(shell)': use bash, zsh or fish")
        }
        print(Lake.completionScript(for: kind))
    }
}
