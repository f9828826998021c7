import Foundation
import LakeTestSupport
import Testing

/// `lake upload --files-from LIST`: names read from a file or standard input, one per line or
/// NUL-separated, beside the arguments. And names that are not UTF-8, given either way: stored
/// under the name the mount gives them (`\xHH` for each such byte), or, when their bytes were
/// lost on the way, reported with what to do instead.
@Suite struct UploadListTests {
    func names(_ lake: LakeBinary) throws -> [String] {
        let listed = try lake.json(try lake.run(["object", "ls", "--json", "--limit", "1000"]))
        return ((listed["objects"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }.sorted()
    }

    @Test func namesFromStandardInputAndFromANulSeparatedList() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let folder = lake.directory.file("data")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for (index, name) in ["a.bin", "b c.bin", "line\nbreak.bin", "é.bin"].enumerated() {
            lake.directory.writeRandom("data/" + name, size: 100 + index, seed: UInt64(2 * index + 10))
        }
        lake.directory.writeRandom("data/x\u{FF}.bin", size: 50, seed: 40)   // as UTF-8: c3 bf
        #expect(FileManager.default.createFile(atPath: folder + "/raw", contents: nil))
        // A name whose bytes are not UTF-8 (x, ff, .bin), made by the shell.
        #expect(try Shell.run("cd '\(folder)' && printf 'raw' > \"$(printf 'x\\377.bin')\"").status == 0)

        // One per line, from standard input: the name with a line break cannot be given so, and
        // is not found under either half.
        let piped = try Shell.run("cd '\(folder)' && printf 'a.bin\\nb c.bin\\nnone.bin\\n' | '\(LakeBinary.executable)' upload --no-wait "
            + "--files-from - --store '\(lake.store)' 2>&1")
        #expect(piped.status == 1, "\(piped.output)")
        #expect(piped.output.contains("none.bin: no such file"), "\(piped.output)")
        #expect(try names(lake) == ["a.bin", "b c.bin"])

        // NUL-separated, as find -print0 writes it: every name, the line break's too; the one
        // that is not UTF-8 is reported as such, the others stored.
        let list = lake.directory.file("list0")
        #expect(try Shell.run("cd '\(folder)' && find . -name '*.bin' ! -name 'a.bin' ! -name 'b c.bin' -print0 > '\(list)'").status == 0)
        let run = try lake.run(["upload", "--no-wait", "--files-from", list, lake.directory.file("data/a.bin")], cwd: folder)
        #expect(run.succeeded, "\(run.stderr)")
        #expect(try names(lake) == ["a.bin", "a.bin", "b c.bin", "line\nbreak.bin", "x\u{FF}.bin", "x\\xff.bin", "é.bin"].sorted())
        let listed = try lake.json(try lake.run(["object", "ls", "--json", "--limit", "1000"]))
        let raw = try #require((listed["objects"] as? [[String: Any]])?.first { $0["name"] as? String == "x\\xff.bin" })
        #expect(((raw["file"] as? [String: Any])?["blob"] as? [String: Any])?["id"] as? String
                == "\(try Shell.run("printf raw | sha256sum").output.prefix(64))")
    }

    /// Lists that are pipes, as bash's `<(…)` makes them: they have no size, and are read to their end.
    @Test func listsFromPipes() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let folder = lake.directory.file("piped")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for index in 0..<3 { lake.directory.writeRandom("piped/p\(index).bin", size: 10 + index, seed: UInt64(60 + 2 * index)) }
        let lakeCommand = "'\(LakeBinary.executable)'"
        let upload = try Shell.run("cd '\(folder)' && bash -c \"\(lakeCommand) upload --no-wait --json --store '\(lake.store)' "
            + "--files-from <(ls p*.bin)\" 2>/dev/null")
        #expect(upload.status == 0, "\(upload.output.prefix(300))")
        let ids = ((try JSONSerialization.jsonObject(with: Data(upload.output.utf8)) as? [String: Any])?["succeeded"] as? [[String: Any]])?
            .compactMap { $0["id"] as? String } ?? []
        #expect(try names(lake) == ["p0.bin", "p1.bin", "p2.bin"])
        let cases = try ids.map { id in
            try #require(try lake.json(try lake.run(["case", "create", "--name", id, "--object", id, "--json"]))["id"] as? String)
        }
        let dataset = try Shell.run("bash -c \"\(lakeCommand) dataset create --name piped --json --store '\(lake.store)' "
            + "--cases-from <(printf '\(cases.joined(separator: "\\\\n"))')\" 2>/dev/null")
        #expect(dataset.status == 0, "\(dataset.output.prefix(300))")
        let made = try JSONSerialization.jsonObject(with: Data(dataset.output.utf8)) as? [String: Any]
        #expect(made?["case_ids"] as? [String] == cases)
    }

    @Test func refusalsChangeNothing() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let a = lake.directory.writeRandom("a.bin", size: 10, seed: 2)
        let b = lake.directory.writeRandom("b.bin", size: 10, seed: 4)
        let list = lake.directory.write("list", a + "\n" + b + "\n")
        let named = try lake.run(["upload", "--files-from", list, "--name", "one"])
        #expect(named.status == 64 && named.stderr.contains("--name names one object"), "\(named.stderr)")
        let empty = try lake.run(["upload", "--files-from", lake.directory.write("empty", "\n\n")])
        #expect(empty.status == 64 && empty.stderr.contains("names no file"), "\(empty.stderr)")
        let missing = try lake.run(["upload", "--files-from", lake.directory.file("no-list")])
        #expect(missing.status == 1 && missing.stderr.contains("no-list"), "\(missing.stderr)")
        #expect(try names(lake).isEmpty)
    }

    /// An argument whose bytes are not UTF-8 is stored under the name the mount would give it;
    /// two that differ only in such bytes cannot be told apart once decoded, and are refused.
    @Test func argumentsThatAreNotUTF8() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let folder = lake.directory.file("raw")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let lakeCommand = "'\(LakeBinary.executable)' upload --no-wait --store '\(lake.store)'"
        let one = try Shell.run("cd '\(folder)' && printf 'one' > \"$(printf 'r\\377.bin')\" && printf 'two' > \"$(printf 'r\\376.bin')\" && "
            + "\(lakeCommand) \"$(printf 'r\\377.bin')\" 2>&1")
        #expect(one.status == 0, "\(one.output)")
        #expect(try names(lake) == ["r\\xff.bin"])
        let both = try Shell.run("cd '\(folder)' && printf 'x' > plain.bin && \(lakeCommand) \"$(printf 'r\\377.bin')\" \"$(printf 'r\\376.bin')\" plain.bin 2>&1")
        #expect(both.status == 1)
        #expect(both.output.contains("which was meant cannot be told") && both.output.contains("incoming/"), "\(both.output)")
        #expect(try names(lake) == ["plain.bin", "r\\xff.bin"])
    }

    /// A manifest in a folder whose name is not UTF-8 brings its blocks, opened by their bytes.
    @Test func aManifestInAFolderThatIsNotUTF8() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let source = try Fixtures.copyRunManifest(into: lake.directory.file("plain"))
        let parent = (source as NSString).deletingLastPathComponent
        let moved = try Shell.run("cd '\(lake.directory.path)' && mv '\(parent)' \"$(printf 'case\\351')\" && "
            + "'\(LakeBinary.executable)' upload --json --store '\(lake.store)' \"$(printf 'case\\351')/run.vtm\" 2>/dev/null")
        #expect(moved.status == 0, "\(moved.output)")
        let report = try JSONSerialization.jsonObject(with: Data(moved.output.utf8)) as? [String: Any]
        let manifest = try #require((report?["succeeded"] as? [[String: Any]])?.first)
        #expect(manifest["status"] as? String == "READY", "\(manifest)")
        #expect(try names(lake) == ["run.vtm", "run/run_0.vtu", "run/run_1.vtu"])
    }
}
