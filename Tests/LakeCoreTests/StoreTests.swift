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

    /// Blobs are plain files; only the store's owner may enter its folder (docs/security.md).
    @Test func aNewStoreFolderIsItsOwnersAlone() throws {
        let directory = TemporaryDirectory("store")
        let root = directory.file("private")
        _ = try Store.create(at: root, logger: TestLogger.make())
        let mode = try FileManager.default.attributesOfItem(atPath: root)[.posixPermissions] as? Int
        #expect(mode == 0o700)
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

    /// New stores keep blobs in 256 folders made with the store; a store made before format
    /// version 2 keeps its two-level folders, and new blobs go where its readers look.
    @Test func newStoresKeepBlobsInOneLevelAndOlderStoresInTwo() throws {
        let test = try TestStore()
        #expect(test.store.config.formatVersion == 2)
        #expect(try Syscall.listDirectory(test.root + "/blobs").count == 256)
        let new = try Uploader(store: test.store).upload(UploadRequest(path: test.directory.write("a.txt", "one level"), createdBy: "t"))
        let id = new.file.blob!.id
        #expect(try Syscall.fileStatus("\(test.root)/blobs/\(id.prefix(2))/\(id)") != nil)

        let old = TemporaryDirectory("old-store")
        let root = old.file("store")
        _ = try Store.create(at: root, logger: TestLogger.make())
        let path = root + "/lake.json"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"format_version\" : 2", with: "\"format_version\" : 1")
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        for folder in try Syscall.listDirectory(root + "/blobs") { try FileManager.default.removeItem(atPath: root + "/blobs/" + folder) }
        let store = try Store(opening: root, logger: TestLogger.make())
        let stored = try Uploader(store: store).upload(UploadRequest(path: old.write("b.txt", "two levels"), createdBy: "t"))
        let blob = stored.file.blob!.id
        #expect(try Syscall.fileStatus("\(root)/blobs/\(blob.prefix(2))/\(blob.dropFirst(2).prefix(2))/\(blob)") != nil)
        #expect(stored.file.blob!.uri.hasSuffix("/blobs/\(blob.prefix(2))/\(blob.dropFirst(2).prefix(2))/\(blob)"))
        #expect(try Verifier(store: store).run().isClean)
        #expect(try store.blobs.allBlobIDs() == [blob])
    }

    @Test func refusesAStoreFormatFromTheFuture() throws {
        let test = try TestStore()
        let path = test.root + "/lake.json"
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"format_version\" : \(StoreConfig.currentFormatVersion)", with: "\"format_version\" : 99")
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
