import Foundation
import LakeSystem
import LakeTestSupport

/// A real mount of a temporary store, made with `lake mount` and always taken down when the
/// value goes away (unmount, then kill the daemon and lazily unmount if that failed).
final class MountedLake: @unchecked Sendable {
    let lake = LakeBinary()
    var mountpoint: String { lake.directory.file("mnt") }
    var store: String { lake.store }

    init(mount: Bool = true, options: [String] = []) throws {
        try lake.initStore()
        try FileManager.default.createDirectory(atPath: mountpoint, withIntermediateDirectories: true)
        if mount { try self.mount(options: options) }
    }

    func mount(options: [String] = []) throws {
        let result = try lake.run(["mount", mountpoint] + options.flatMap { ["-o", $0] })
        guard result.succeeded else { throw MountFailure(message: result.stderr) }
    }

    deinit {
        _ = try? lake.run(["unmount", mountpoint], store: false)
        _ = try? Shell.run("pkill -9 -f '[l]ake mount \(mountpoint) ' ; fusermount3 -uz \(mountpoint) 2>/dev/null; true")
    }

    func path(_ relative: String) -> String { mountpoint + "/" + relative }

    /// Changes settings in the store's lake.json (before mounting: the daemon reads it at start).
    func configure(_ settings: [String: Any]) throws {
        let config = store + "/lake.json"
        var current = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as! [String: Any]
        current.merge(settings) { $1 }
        try JSONSerialization.data(withJSONObject: current).write(to: URL(fileURLWithPath: config))
    }

    /// Waits until `condition` holds (polling), up to `seconds`.
    func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        try LakeTestSupport.eventually(seconds, condition)
    }

    func xattr(_ relative: String, _ name: String) throws -> String {
        try Shell.run("getfattr --absolute-names -n \(name) --only-values '\(path(relative))' 2>&1").output
    }

    /// Unmounts and returns the daemon's log once it has written its closing lines.
    func unmountAndReadLog() throws -> DaemonLog {
        let unmount = try lake.run(["unmount", mountpoint], store: false)
        guard unmount.succeeded else { throw MountFailure(message: unmount.stderr) }
        var log = DaemonLog(lines: [])
        _ = eventually(30) {
            let text = (try? String(contentsOfFile: store + "/logs/mount.log", encoding: .utf8)) ?? ""
            log = DaemonLog(lines: text.split(separator: "\n"))
            return log.lines.contains { $0.contains("read ahead across files: ") }
        }
        return log
    }
}

/// The lines of a mount daemon's log.
struct DaemonLog {
    var lines: [Substring]

    /// What follows `marker` on the last line that has it.
    func after(_ marker: String) -> String {
        lines.last { $0.contains(marker) }.map { String($0[$0.range(of: marker)!.upperBound...]) } ?? "(no line)"
    }
}

struct MountFailure: Error { let message: String }

/// Shell commands for tests that use the tools a person would (cp, rm, getfattr, sha256sum).
enum Shell {
    struct Result {
        var status: Int32
        var output: String
    }

    @discardableResult
    static func run(_ command: String) throws -> Result {
        let (ended, output, _) = try ChildProcess.run("/bin/sh", ["-c", command], errors: .output)
        return Result(status: ended.status, output: String(decoding: output, as: UTF8.self))
    }

    /// Runs commands at the same time, each in its own process, and returns their statuses.
    static func parallel(_ commands: [String]) throws -> [Int32] {
        let processes = try commands.map { try ChildProcess("/bin/sh", ["-c", $0]) }
        return processes.map { $0.wait().status }
    }

    static func sha256(_ path: String) throws -> String {
        String(try run("sha256sum '\(path)'").output.prefix(64))
    }
}

/// VTK's own Python reader, as ParaView would open a file.
enum VTKReader {
    /// "blocks points…" of a multiblock file, as VTK's reader loads it.
    static func blockPoints(_ path: String) throws -> String {
        let script = """
            import vtk
            r = vtk.vtkXMLMultiBlockDataReader()
            r.SetFileName('\(path)')
            r.Update()
            o = r.GetOutput()
            print(o.GetNumberOfBlocks(), *[o.GetBlock(i).GetNumberOfPoints() for i in range(o.GetNumberOfBlocks())])
            """
        return try Shell.run("python3 -c \"\(script)\" 2>&1").output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
