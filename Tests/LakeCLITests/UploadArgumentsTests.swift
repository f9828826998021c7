import Foundation
import LakeTestSupport
import Testing

/// `lake upload` of many files given as arguments: they are taken out of the command line before
/// the argument parser (whose time grows with the square of their number) sees it, which must
/// change nothing the parser would have made of them.
@Suite struct UploadArgumentsTests {
    /// The options and flags the command line is split by are the command's own, as the parser
    /// describes it: one added to `lake upload` and not to the split fails here.
    @Test func theSplitKnowsEveryOptionOfTheCommand() throws {
        let help = try LakeBinary().run(["upload", "--experimental-dump-help"], store: false)
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
        #expect(options == ["--store", "--files-from", "--name", "--description", "--param", "--tag", "--geometry-units", "--annotate"])
        // --help and --version are left to the parser: a command line with them is not split.
        #expect(flags == ["--verbose", "--no-wait", "--json", "--version", "-h", "--help"])
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
}
