import Foundation
import LakeTestSupport
import Testing

@Suite struct InitAndStoreTests {
    @Test func initCreatesAStoreAndSecondInitChangesNothing() throws {
        let lake = LakeBinary()
        let first = try lake.run(["init"])
        #expect(first.succeeded && first.stdout.contains("Created a Lake store at \(lake.store)"))
        let config = try String(contentsOfFile: lake.store + "/lake.json", encoding: .utf8)
        let second = try lake.run(["init"])
        #expect(second.succeeded && second.stdout.contains("already exists"))
        #expect(try String(contentsOfFile: lake.store + "/lake.json", encoding: .utf8) == config)
    }

    @Test func storeComesFromTheEnvironmentWhenNoFlagIsGiven() throws {
        let lake = LakeBinary()
        let created = try lake.run(["init"], store: false, environment: ["LAKE_STORE": lake.directory.file("env-store")])
        #expect(created.succeeded)
        #expect(FileManager.default.fileExists(atPath: lake.directory.file("env-store/lake.json")))
    }

    @Test func aFolderThatIsNotAStoreIsRefusedAndLeftAlone() throws {
        let lake = LakeBinary()
        lake.directory.write("plain/keep.txt", "mine")
        let result = try lake.run(["object", "ls", "--store", lake.directory.file("plain")], store: false)
        #expect(result.status == 1)
        #expect(result.stderr.contains("is not a Lake store"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: lake.directory.file("plain")) == ["keep.txt"])
        let missing = try lake.run(["object", "ls", "--store", lake.directory.file("nowhere")], store: false)
        #expect(missing.status == 1 && missing.stderr.contains("lake init"))
        #expect(!FileManager.default.fileExists(atPath: lake.directory.file("nowhere")))
    }

    @Test func aStoreFromANewerSchemaIsRefusedUnchanged() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let catalog = lake.store + "/catalog.sqlite"
        _ = try Command.output("/usr/bin/env", ["sqlite3", catalog, "INSERT INTO grdb_migrations VALUES ('2099-01-01-future')"])
        let before = try Command.output("/usr/bin/env", ["sqlite3", catalog, "SELECT identifier FROM grdb_migrations ORDER BY 1"])
        #expect(before.contains("2099-01-01-future"), "sqlite3 is needed for this test")
        let result = try lake.run(["object", "ls"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("newer version of lake"))
        #expect(result.stderr.contains("2099-01-01-future"))
        let upload = try lake.run(["upload", lake.directory.write("a.txt", "a")])
        #expect(upload.status == 1)
        let after = try Command.output("/usr/bin/env", ["sqlite3", catalog, "SELECT identifier FROM grdb_migrations ORDER BY 1"])
        #expect(after == before)
        let objects = try Command.output("/usr/bin/env", ["sqlite3", catalog, "SELECT COUNT(*) FROM objects"])
        #expect(objects.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }
}
