import Foundation
import LakeTestSupport
import Testing

/// Commands given many values as arguments (`lake upload FILE…`, `lake wait ID…`): the values
/// are taken out of the command line before the argument parser (whose time grows with the
/// square of their number) sees it, which must change nothing the parser would have made of them.
@Suite struct LongCommandLinesTests {
    /// The commands `LongCommandLines.shapes` splits, with their options that take a value and
    /// their flags (beside `--store` and `--verbose`, which all have).
    static let shapes: [(path: [String], options: Set<String>, flags: Set<String>)] = [
        (["upload"], ["--files-from", "--name", "--description", "--param", "--tag", "--geometry-units", "--annotate"], ["--no-wait", "--json"]),
        (["wait"], ["--timeout"], ["--json"]),
        (["object", "reprocess"], [], ["--no-wait", "--json"]),
        (["trash", "purge"], [], ["--expired", "--all", "--json"]),
        (["object", "rm"], [], ["--json"]), (["trash", "restore"], [], ["--json"]),
        (["object", "chmod"], [], ["--json"]), (["object", "chgrp"], [], ["--json"]),
        (["case", "chmod"], [], ["--json"]), (["case", "chgrp"], [], ["--json"]),
        (["dataset", "chmod"], [], ["--json"]), (["dataset", "chgrp"], [], ["--json"]),
        (["dataset", "add"], [], ["--json"]), (["dataset", "remove"], [], ["--json"]),
        (["case", "create"], ["--object", "--param-map", "--field-map", "--param", "--tag", "--name", "--mode"], ["--json"]),
        (["dataset", "create"], ["--name", "--description", "--case", "--cases-from", "--tag", "--mode"], ["--json"]),
    ]

    /// The options and flags the command lines are split by are each command's own, as the
    /// parser describes it: one added to a command and not to the split fails here.
    @Test(arguments: shapes.map(\.path))
    func theSplitKnowsEveryOptionOfTheCommand(path: [String]) throws {
        let shape = try #require(Self.shapes.first { $0.path == path })
        let help = try LakeBinary().run(path + ["--experimental-dump-help"], store: false)
        let tool = try #require(try JSONSerialization.jsonObject(with: Data(help.stdout.utf8)) as? [String: Any])
        let arguments = try #require((tool["command"] as? [String: Any])?["arguments"] as? [[String: Any]])
        var options: Set<String> = [], flags: Set<String> = []
        for argument in arguments {
            let names = ((argument["names"] as? [[String: Any]]) ?? []).compactMap { name -> String? in
                guard let text = name["name"] as? String else { return nil }
                return (name["kind"] as? String) == "short" ? "-" + text : "--" + text
            }
            switch argument["kind"] as? String {
            case "option": options.formUnion(names)
            case "flag": flags.formUnion(names)
            default: break
            }
        }
        #expect(options == shape.options.union(["--store"]))
        // --help and --version are left to the parser: a command line with them is not split.
        #expect(flags == shape.flags.union(["--verbose", "--version", "-h", "--help"]))
    }

    @Test func manyFilesAmongOptionsAreAllUploadedInOrder() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let folder = lake.directory.file("many")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let names = (0..<600).map { "f\($0).bin" } + ["-dash.bin", "a=b.bin", "--.bin", "-"]
        for (index, name) in names.enumerated() { #expect(FileManager.default.createFile(atPath: folder + "/" + name, contents: Data("\(index)".utf8))) }
        // The store named before `--`: everything after it is a file.
        let arguments = ["upload", "--no-wait", "f0.bin", "--tag", "k=v", "f1.bin", "--param=mach=0.8"] + names[2..<600].map { $0 }
            + ["--json", "--store", lake.store, "--", "-dash.bin", "a=b.bin", "--.bin", "-"]
        let run = try lake.run(arguments, store: false, cwd: folder)
        #expect(run.succeeded, "\(run.stderr.prefix(500))")
        let stored = try #require(try lake.json(run)["succeeded"] as? [[String: Any]])
        #expect(stored.compactMap { $0["name"] as? String } == names)
        #expect(stored.allSatisfy { ($0["tags"] as? [String: Any])?["k"] as? String == "v" })
        #expect(stored.allSatisfy { (($0["params"] as? [String: Any])?["mach"] as? [String: Any])?["value"] as? Double == 0.8 })
        for (object, name) in zip(stored, names) {
            let blob = ((object["file"] as? [String: Any])?["blob"] as? [String: Any])?["id"] as? String
            #expect(blob == (try Shell.sha256(folder + "/" + name)), "\(name)")
        }
        // A misspelt option among many files is the parser's to report, and nothing is stored.
        let misspelt = try lake.run(["upload", "--no-wiat"] + names[0..<100].map { $0 }, cwd: folder)
        #expect(misspelt.status == 64 && misspelt.stderr.contains("no-wiat"), "\(misspelt.stderr)")
        let named = try lake.run(["upload", "--name", "one"] + names[0..<100].map { $0 }, cwd: folder)
        #expect(named.status == 64 && named.stderr.contains("--name names one object"), "\(named.stderr)")
        let listed = try lake.json(try lake.run(["object", "ls", "--json", "--limit", "1000"]))
        #expect((listed["objects"] as? [Any])?.count == names.count)
    }

    /// Commands of ids, each given 70: every id is acted on, as when given few.
    @Test func commandsOfManyIds() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let folder = lake.directory.file("few")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for index in 0..<70 { #expect(FileManager.default.createFile(atPath: folder + "/f\(index).txt", contents: Data("\(index)".utf8))) }
        let uploaded = try lake.run(["upload", "--no-wait", "--json"] + (0..<70).map { "f\($0).txt" }, cwd: folder)
        let ids = try #require((try lake.json(uploaded)["succeeded"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
        #expect(ids.count == 70)
        let waited = try lake.run(["wait", "--json", "--timeout", "120"] + ids)
        #expect(waited.succeeded, "\(waited.stderr.prefix(300))")
        let settled = try lake.json(waited)["objects"] as? [[String: Any]]
        #expect(settled?.filter { $0["status"] as? String == "READY" }.count == 70)
        #expect(try lake.run(["object", "chmod", "600"] + ids).succeeded)
        let modes = try lake.json(try lake.run(["object", "ls", "--json", "--limit", "100"]))["objects"] as? [[String: Any]]
        #expect(modes?.filter { ($0["owner"] as? [String: Any])?["mode"] as? String == "0600" }.count == 70)

        // Seventy cases, all of the first object.
        let cases = try ids.indices.map { index in
            try #require(try lake.json(try lake.run(["case", "create", "--name", "c\(index)", "--object", ids[0], "--json"]))["id"] as? String)
        }
        // A case of all seventy, in the order given, a label among them.
        let members = ids.enumerated().flatMap { index, id in ["--object", index == 1 ? "\(id):second" : id] }
        let big = try lake.run(["case", "create", "--name", "all", "--json"] + members)
        #expect(big.succeeded, "\(big.stderr.prefix(300))")
        let made = try lake.json(big)
        let listedMembers = (made["objects"] as? [[String: Any]]) ?? []
        #expect(listedMembers.compactMap { $0["object_id"] as? String } == ids)
        #expect(listedMembers.count == 70 && listedMembers[1]["label"] as? String == "second", "\(listedMembers.prefix(2))")
        #expect(try lake.run(["case", "rm", try #require(made["id"] as? String)]).succeeded)
        let fromOptions = try lake.run(["dataset", "create", "--name", "from-options", "--json"] + cases.flatMap { ["--case", $0] })
        #expect(fromOptions.succeeded, "\(fromOptions.stderr.prefix(300))")
        #expect(try lake.json(fromOptions)["case_ids"] as? [String] == cases)
        let dataset = try #require(try lake.json(try lake.run(["dataset", "create", "--name", "d", "--json"]))["id"] as? String)
        let added = try lake.run(["dataset", "add", dataset, "--json"] + cases)
        #expect(added.succeeded, "\(added.stderr.prefix(300))")
        let afterAdding = try lake.json(added)["case_ids"] as? [Any]
        #expect(afterAdding?.count == 70)
        let removed = try lake.run(["dataset", "remove", dataset, "--json"] + cases)
        #expect(removed.succeeded, "\(removed.stderr.prefix(300))")
        let afterRemoving = try lake.json(removed)["case_ids"] as? [Any]
        #expect(afterRemoving?.isEmpty == true)

        // The other 69 go to the trash and come back.
        let trashed = try lake.run(["object", "rm"] + ids.dropFirst())
        #expect(trashed.succeeded, "\(trashed.stderr.prefix(300))")
        let listedAfterRemoval = try lake.json(try lake.run(["object", "ls", "--json"]))["objects"] as? [Any]
        #expect(listedAfterRemoval?.count == 1)
        #expect(try lake.run(["trash", "restore"] + ids.dropFirst()).succeeded)
        let listedAfterRestoring = try lake.json(try lake.run(["object", "ls", "--json", "--limit", "100"]))["objects"] as? [Any]
        #expect(listedAfterRestoring?.count == 70)
    }
}
