import Foundation
import LakeTestSupport
import Testing

/// docs/semantics.md's table, checked row by row against a real mount.
@Suite struct SemanticsDocTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/semantics.md").path

    struct Row {
        var operation: String
        var command: String
        var expected: [String]   // objects, cases/datasets, incoming
    }

    /// The rows of the table in the section under `heading` (up to the next heading).
    static func rows(under heading: String) throws -> [Row] {
        let text = try String(contentsOfFile: document, encoding: .utf8)
        guard let start = text.range(of: "\n" + heading + "\n") else { return [] }
        let rest = text[start.upperBound...]
        let section = rest.range(of: "\n#").map { rest[..<$0.lowerBound] } ?? rest
        return section.split(separator: "\n").compactMap { line -> Row? in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 7, cells[2].hasPrefix("`"), cells[1] != "operation" else { return nil }
            return Row(operation: cells[1], command: cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`")),
                       expected: [cells[3], cells[4], cells[5]])
        }
    }

    static let messages = ["EROFS": "Read-only file system", "ENODATA": "No such attribute", "EIO": "Input/output error",
                           "ENOTSUP": "Operation not supported", "ENOENT": "No such file or directory",
                           "EPERM": "Operation not permitted", "EACCES": "Permission denied"]

    func check(_ result: Shell.Result, _ expected: String, _ context: String) {
        if expected == "ok" {
            #expect(result.status == 0, "\(context): expected success, got \(result.output)")
        } else {
            #expect(result.status != 0 && result.output.contains(Self.messages[expected] ?? expected),
                    "\(context): expected \(expected), got \(result.status): \(result.output)")
        }
    }

    @Test func theTableIsTrue() throws {
        let rows = try Self.rows(under: "## Operations")
        #expect(rows.count >= 18, "the table was not found in \(Self.document)")
        try checkTable(rows, as: nil)
    }

    /// The second table: the same commands as an ordinary account, on its own receipts and on
    /// objects, cases and datasets root made and left readable to everyone.
    @Test func theTableForOtherAccountsIsTrue() throws {
        guard getuid() == 0 else { return }
        let rows = try Self.rows(under: "### As an account other than root")
        #expect(rows.count >= 18, "the second table was not found in \(Self.document)")
        try checkTable(rows, as: try Account.make("lakeprobe1"))
    }

    func checkTable(_ rows: [Row], as account: Account?) throws {
        let mounted = try MountedLake()
        _ = try Shell.run("chmod 755 '\(mounted.lake.directory.path)'")
        func run(_ command: String) throws -> Shell.Result {
            try account.map { try $0.run(command) } ?? Shell.run(command + " 2>&1")
        }
        let who = account.map { " (as \($0.name))" } ?? ""
        let result = try mounted.lake.run(["upload", mounted.lake.directory.write("a.txt", "semantics"), "--json"])
        let id = (try mounted.lake.json(result)["succeeded"] as! [[String: Any]])[0]["id"] as! String
        _ = mounted.eventually { FileManager.default.fileExists(atPath: mounted.path("objects/\(id)/file")) }
        let caseID = try mounted.lake.json(try mounted.lake.run(["case", "create", "--object", "\(id):only", "--mode", "644", "--json"]))["id"] as! String
        let datasetID = try mounted.lake.json(try mounted.lake.run(["dataset", "create", "--name", "d", "--case", caseID, "--mode", "644", "--json"]))["id"] as! String
        #expect(try mounted.lake.run(["dataset", "freeze", datasetID]).succeeded)
        _ = mounted.eventually { FileManager.default.fileExists(atPath: mounted.path("datasets/\(datasetID)/manifest.jsonl")) }
        let groups = [(file: "cases/\(caseID)/case.json", dir: "cases/\(caseID)", subdir: "cases/\(caseID)/only"),
                      (file: "datasets/\(datasetID)/manifest.jsonl", dir: "datasets/\(datasetID)", subdir: "datasets/\(datasetID)/cases")]
        for row in rows {
            // objects/: a fresh look each time, the tree is immutable.
            if row.expected[0] != "—" {
                let command = row.command.replacingOccurrences(of: "FILE", with: "'\(mounted.path("objects/\(id)/file"))'")
                    .replacingOccurrences(of: "SUBDIR", with: "'\(mounted.path("objects/\(id)"))'")
                    .replacingOccurrences(of: "DIR", with: "'\(mounted.path("objects/\(id)"))'")
                check(try run(command), row.expected[0], "objects/ \(row.operation)\(who)")
            }
            if row.expected[1] != "—" {
                for group in groups {
                    let command = row.command.replacingOccurrences(of: "FILE", with: "'\(mounted.path(group.file))'")
                        .replacingOccurrences(of: "SUBDIR", with: "'\(mounted.path(group.subdir))'")
                        .replacingOccurrences(of: "DIR", with: "'\(mounted.path(group.dir))'")
                    check(try run(command), row.expected[1], "\(group.dir) \(row.operation)\(who)")
                }
            }
            if row.expected[2] != "—" {
                // Each incoming/ row gets its own receipt (and folder for rmdir), made by whoever runs it.
                let name = "r-\(row.operation.replacingOccurrences(of: " ", with: "-"))"
                _ = try run("echo receipt > '\(mounted.path("incoming/\(name)"))'")
                if row.operation == "rmdir" { _ = try run("mkdir '\(mounted.path("incoming/d"))'") }
                let command = row.command.replacingOccurrences(of: "FILE", with: "'\(mounted.path("incoming/\(name)"))'")
                    .replacingOccurrences(of: "SUBDIR", with: "'\(mounted.path("incoming/d"))'")
                    .replacingOccurrences(of: "DIR", with: "'\(mounted.path("incoming"))'")
                check(try run(command), row.expected[2], "incoming/ \(row.operation)\(who)")
                _ = try Shell.run("rm -f '\(mounted.path("incoming/moved"))' '\(mounted.path("incoming/new"))'")
            }
        }
    }

    @Test func mountHelperWorksForMountAndFstab() throws {
        guard getuid() == 0 else { return }
        let helper = URL(fileURLWithPath: Self.document).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("mount-helpers/mount.fuse.lake").path
        let mounted = try MountedLake(mount: false)
        let bin = URL(fileURLWithPath: LakeBinary.executable).deletingLastPathComponent().path
        // As the quick start installs them: the helper in /sbin, lake in /usr/local/bin.
        _ = try Shell.run("install -m 0755 '\(helper)' /sbin/mount.fuse.lake && install -m 0755 '\(bin)/lake' /usr/local/bin/lake")
        let mount = try Shell.run("mount -t fuse.lake '\(mounted.store)' '\(mounted.mountpoint)' 2>&1")
        #expect(mount.status == 0, "\(mount.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mounted.mountpoint).contains("objects"))
        #expect(try Shell.run("umount '\(mounted.mountpoint)'").status == 0)
        let bad = try Shell.run("mount -t fuse.lake '\(mounted.lake.directory.file("no-store"))' '\(mounted.mountpoint)' 2>&1")
        #expect(bad.status == 32, "\(bad.output)")
        let usage = try Shell.run("/sbin/mount.fuse.lake 2>&1")
        #expect(usage.status == 1)
    }
}
