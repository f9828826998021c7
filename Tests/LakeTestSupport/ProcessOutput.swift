import Foundation

extension Process {
    /// Runs a program and returns its standard output (for checking results against real tools).
    public static func output(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readAllRetrying()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
