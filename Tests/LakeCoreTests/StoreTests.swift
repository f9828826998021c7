import Foundation
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeCore

@Suite struct StoreTests {
    @Test func createThenOpenAndCreateAgainChangesNothing() throws {
        let directory = TemporaryDirectory("store")
        let root = directory.file("s")
        guard case .created(let store) = try Store.create(at: root, logger: TestLogger.make()) else {
            Issue.record("expected a new store")
            return
        }
        let config = try String(contentsOfFile: root + "/lake.json", encoding: .utf8)
        guard case .alreadyExists(let again) = try Store.create(at: root, logger: TestLogger.make()) else {
            Issue.record("expected the existing store")
            return
        }
        #expect(again.config.storeId == store.config.storeId)
        #expect(try String(contentsOfFile: root + "/lake.json", encoding: .utf8) == config)
    }

    @Test func refusesFoldersThatAreNotStores() throws {
        let directory = TemporaryDirectory("store")
        directory.write("other/file.txt", "mine")
        #expect(throws: StoreError.self) { try Store(opening: directory.file("other"), logger: TestLogger.make()) }
        #expect(throws: StoreError.self) { try Store(opening: directory.file("nothing-here"), logger: TestLogger.make()) }
        // Creating a store in a folder with other files is refused rather than mixing them.
        #expect(throws: StoreError.self) { try Store.create(at: directory.file("other"), logger: TestLogger.make()) }
        #expect(try Syscall.listDirectory(directory.file("other")) == ["file.txt"])
    }

    @Test func refusesAStoreFormatFromTheFuture() throws {
        let test = try TestStore()
        let path = test.root + "/lake.json"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"format_version\" : 1", with: "\"format_version\" : 99")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: StoreError.self) { try Store(opening: test.root, logger: TestLogger.make()) }
    }

    @Test func storeLocationPrefersFlagThenEnvironment() {
        #expect(StoreLocation.resolve(explicit: "/a", environment: ["LAKE_STORE": "/b"]) == "/a")
        #expect(StoreLocation.resolve(explicit: nil, environment: ["LAKE_STORE": "/b"]) == "/b")
        #expect(StoreLocation.resolve(explicit: nil, environment: [:]) == StoreLocation.defaultPath(environment: [:]))
        #expect(StoreLocation.resolve(explicit: "rel", environment: [:]).hasSuffix("/rel"))
    }
}
