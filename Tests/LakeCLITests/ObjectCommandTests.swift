import Foundation
import LakeTestSupport
import Testing

@Suite struct ObjectCommandTests {
    func uploaded(_ lake: LakeBinary, _ name: String, _ contents: String, _ extra: [String] = []) throws -> String {
        let result = try lake.run(["upload", lake.directory.write(name, contents), "--json"] + extra)
        let objects = try #require(try lake.json(result)["succeeded"] as? [[String: Any]])
        return objects[0]["id"] as! String
    }

    @Test func listPagesNewestFirstWithACursor() throws {
        let lake = LakeBinary()
        try lake.initStore()
        var ids: [String] = []
        for i in 0..<5 { ids.append(try uploaded(lake, "f\(i).txt", "file \(i)")) }
        let first = try lake.json(try lake.run(["object", "ls", "--limit", "2", "--json"]))
        #expect((first["objects"] as! [[String: Any]]).map { $0["id"] as! String } == [ids[4], ids[3]])
        let cursor = try #require(first["next_cursor"] as? String)
        let second = try lake.json(try lake.run(["object", "ls", "--limit", "10", "--after", cursor, "--json"]))
        #expect((second["objects"] as! [[String: Any]]).map { $0["id"] as! String } == [ids[2], ids[1], ids[0]])
        #expect(second["next_cursor"] is NSNull)
        let table = try lake.run(["object", "ls"])
        #expect(table.stdout.contains("STATUS") && table.stdout.contains("f4.txt"))
    }

    @Test func showIsReadableAndJSONIsComplete() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let id = try uploaded(lake, "part.stl", Fixtures.asciiSTL(), ["--geometry-units", "cm", "--param", "aoa=4@deg"])
        let text = try lake.run(["object", "show", id])
        #expect(text.stdout.contains("status:        READY"))
        #expect(text.stdout.contains("aoa = 4 [deg]"))
        #expect(text.stdout.contains("geometry  units cm  triangles 2"))
        let json = try lake.json(try lake.run(["object", "show", id, "--json"]))
        for key in ["id", "name", "description", "file", "format", "status", "failure_reason", "params", "tags", "provisions",
                    "content_references", "created_at", "uploaded_at", "processed_at", "created_by"] {
            #expect(json.keys.contains(key), "missing \(key)")
        }
    }

    @Test func unknownAndMalformedIDs() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let unknown = try lake.run(["object", "show", "obj-01m80j9v55e7k51rr3bbtt9q37"])
        #expect(unknown.status == 1 && unknown.stderr.contains("no object with id obj-01m80j9v55e7k51rr3bbtt9q37"))
        let malformed = try lake.run(["object", "show", "../etc"])
        #expect(malformed.status == 64 && malformed.stderr.contains("is not an id like obj-"))
        for command in [["object", "get"], ["object", "update", "--name", "x"]] {
            let result = try lake.run(command + ["obj-01m80j9v55e7k51rr3bbtt9q37"])
            #expect(result.status == 1, "\(command)")
        }
    }

    @Test func updateReplacesTagsClearsThemAndLeavesThemAlone() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let id = try uploaded(lake, "a.txt", "a", ["--tag", "keep=1"])
        var json = try lake.json(try lake.run(["object", "update", id, "--name", "renamed", "--description", "new", "--json"]))
        #expect(json["name"] as? String == "renamed" && json["description"] as? String == "new")
        #expect((json["tags"] as? [String: Any])?.keys.sorted() == ["keep"])
        json = try lake.json(try lake.run(["object", "update", id, "--tags", #"{"a":{"b":[1,2]}}"#, "--json"]))
        #expect((json["tags"] as? [String: Any])?.keys.sorted() == ["a"])
        json = try lake.json(try lake.run(["object", "update", id, "--tags", "{}", "--json"]))
        #expect((json["tags"] as? [String: Any])?.isEmpty == true)
        let bad = try lake.run(["object", "update", id, "--tags", "[1]"])
        #expect(bad.status == 64 && bad.stderr.contains("must be a JSON object"))
        let nothing = try lake.run(["object", "update", id])
        #expect(nothing.status == 64)
        // Params are immutable: there is no option to change them.
        let params = try lake.run(["object", "update", id, "--param", "x=1"])
        #expect(params.status != 0)
    }

    @Test func getStreamsTheExactBytesToAFileOrStdout() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let source = lake.directory.writeRandom("data.bin", size: 3 << 20)
        let result = try lake.run(["upload", source, "--json"])
        let id = (try lake.json(result)["succeeded"] as! [[String: Any]])[0]["id"] as! String
        let out = lake.directory.file("out/copy.bin")
        try FileManager.default.createDirectory(atPath: lake.directory.file("out"), withIntermediateDirectories: true)
        #expect(try lake.run(["object", "get", id, "-o", out]).succeeded)
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: out))
        let again = try lake.run(["object", "get", id, "-o", out])
        #expect(again.status == 1 && again.stderr.contains("already exists"))
        let stdout = try lake.run(["object", "get", id, "-o", "-"])
        #expect(Data(stdout.stdout.utf8).count > 0)
        let piped = lake.directory.file("piped.bin")
        _ = try Command.output("/bin/sh", ["-c", "\(LakeBinary.executable) object get \(id) -o - --store \(lake.store) > \(piped)"])
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: piped))
        // Default destination: the object's file name in the working directory.
        let cwd = lake.directory.file("cwd")
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        #expect(try lake.run(["object", "get", id], cwd: cwd).succeeded)
        #expect(FileManager.default.contentsEqual(atPath: source, andPath: cwd + "/data.bin"))
    }
}
