import Foundation
import LakeSystem

/// Programs the tests run (real tools to check results against, servers, `lake` itself), all
/// through `ChildProcess`: Foundation's `Process.run()` can crash the test process on this
/// toolchain (see ChildProcess).
public enum Command {
    /// Runs a program and returns its standard output; its standard input and error are the
    /// test process's own.
    public static func output(_ executable: String, _ arguments: [String]) throws -> String {
        let (_, output, _) = try ChildProcess.run(executable, arguments, input: .inherit, errors: .inherit)
        return String(decoding: output, as: UTF8.self)
    }

    /// Runs a program to its end; its exit status (or the signal's number that ended it).
    @discardableResult
    public static func status(_ executable: String, _ arguments: [String], output: ChildProcess.Stream = .inherit,
                              errors: ChildProcess.Stream = .inherit) throws -> Int32 {
        try ChildProcess(executable, arguments, output: output, errors: errors).wait().status
    }
}
