import Foundation
import LakeSystem

/// Runs commands and measures them: wall time and the peak resident memory of the process tree
/// (from wait4's rusage).
enum Bench {
    struct Measurement {
        var seconds: Double
        var peakKiB: Int
    }

    static func siblingLake() -> String {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("lake").path
    }

    /// Runs `argv`, fails loudly on a non-zero exit.
    @discardableResult
    static func run(_ argv: [String], quiet: Bool = true) throws -> Measurement {
        var pid: pid_t = 0
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        if quiet { posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0) }
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let start = monotonic()
        let status = posix_spawnp(&pid, argv[0], &actions, nil, cArgs, environ)
        posix_spawn_file_actions_destroy(&actions)
        guard status == 0 else { throw BenchError("cannot start \(argv[0]): \(String(cString: strerror(status)))") }
        var exitStatus: Int32 = 0
        var usage = rusage()
        while wait4(pid, &exitStatus, 0, &usage) < 0 && errno == EINTR {}
        let seconds = monotonic() - start
        guard exitStatus == 0 else { throw BenchError("\(argv.joined(separator: " ")) failed with status \(exitStatus)") }
        return Measurement(seconds: seconds, peakKiB: usage.ru_maxrss)
    }

    /// Runs `argv` and returns its standard output.
    static func capture(_ argv: [String]) throws -> String {
        let (ended, data, _) = try ChildProcess.run("/usr/bin/env", argv, input: .inherit, errors: .inherit)
        guard ended.status == 0 else { throw BenchError("\(argv.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }

    static func monotonic() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func format(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
