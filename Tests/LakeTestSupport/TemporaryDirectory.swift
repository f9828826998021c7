import Foundation

/// A fresh folder under the system temp directory, removed when the value is dropped.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "lake-test") {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        path = base + "/\(label)-\(UUID().uuidString.prefix(8).lowercased())"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes a file and returns its path.
    @discardableResult
    public func write(_ name: String, _ contents: String) -> String {
        write(name, Data(contents.utf8))
    }

    @discardableResult
    public func write(_ name: String, _ data: Data) -> String {
        let target = file(name)
        try! FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent,
                                                 withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: target, contents: data)
        return target
    }

    /// Writes `size` bytes of a repeatable pseudo-random pattern, in chunks. Seeds that differ
    /// only in their lowest bit give the same bytes (`seed | 1`).
    @discardableResult
    public func writeRandom(_ name: String, size: Int, seed: UInt64 = 1) -> String {
        let target = file(name)
        FileManager.default.createFile(atPath: target, contents: nil)
        let handle = FileHandle(forWritingAtPath: target)!
        var state = seed | 1
        var remaining = size
        while remaining > 0 {
            let count = min(remaining, 1 << 20)
            var chunk = [UInt8](repeating: 0, count: count)
            for i in 0..<count {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                chunk[i] = UInt8(truncatingIfNeeded: state)
            }
            handle.write(Data(chunk))
            remaining -= count
        }
        try! handle.close()
        return target
    }
}
