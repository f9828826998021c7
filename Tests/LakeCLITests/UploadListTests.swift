import Foundation
import LakeTestSupport
import Testing

/// `lake upload --files-from LIST`: names read from a file or standard input, one per line or
/// NUL-separated, beside the arguments. Names that text cannot carry (bytes that are not UTF-8)
/// are reported, with what to do instead, and the others are uploaded.
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
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("./x\\xff.bin: its name holds bytes that are not UTF-8"), "\(run.stderr)")
        #expect(try names(lake) == ["a.bin", "a.bin", "b c.bin", "line\nbreak.bin", "x\u{FF}.bin", "é.bin"].sorted())
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

    /// An argument's bytes that are not UTF-8 reach the command as U+FFFD: the error says so.
    @Test func anArgumentThatIsNotUTF8IsExplained() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let folder = lake.directory.file("raw")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let run = try Shell.run("cd '\(folder)' && printf 'x' > \"$(printf 'r\\377.bin')\" && "
            + "'\(LakeBinary.executable)' upload --store '\(lake.store)' \"$(printf 'r\\377.bin')\" 2>&1")
        #expect(run.status == 1)
        #expect(run.output.contains("bytes that are not UTF-8") && run.output.contains("incoming/"), "\(run.output)")
        #expect(try names(lake).isEmpty)
    }
}
