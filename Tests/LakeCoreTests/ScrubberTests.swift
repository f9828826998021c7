import Dispatch
import LakeBlobStore
import LakeModel
import LakeTestSupport
import Testing
@testable import LakeCore

/// The mount daemon's scrubber gives way to uploads: while files are being stored it re-hashes
/// nothing (its reads and catalog writes would slow every close of a `cp -r`).
@Suite struct ScrubberTests {
    @Test func theScrubberWaitsWhileFilesAreBeingStored() throws {
        let test = try TestStore()
        let upload = try StreamingUpload(store: test.store, fileName: "a.bin", createdBy: "tester", owner: .legacy)
        try [UInt8](repeating: 1, count: 1_000).withUnsafeBytes { try upload.write($0, at: 0) }
        try upload.commit()
        let started = Timestamp.now
        // Uploads "arrive" for two more seconds (the scrubber waits for one quiet second after).
        test.store.uploads.noteStored(at: .now() + .seconds(2))
        let scrubber = BlobScrubber(store: test.store, logger: TestLogger.make())
        try scrubber.start()
        defer { scrubber.stop() }
        #expect(try eventually(30) { try test.store.catalog.blobsToScrub(checkedBefore: started, limit: 10).isEmpty },
                "the blob is checked once uploads have stopped")
        // Checked at or after the first quiet second: no check recorded before it.
        #expect(try test.store.catalog.blobsToScrub(checkedBefore: started.adding(seconds: 2.9), limit: 10).isEmpty,
                "not while they arrived")
    }

    /// A lake that receives files without pause is still scrubbed: after 9 s of waiting the
    /// scrubber checks a batch anyway.
    @Test func aLakeThatNeverStopsReceivingFilesIsStillScrubbed() throws {
        let test = try TestStore()
        let upload = try StreamingUpload(store: test.store, fileName: "b.bin", createdBy: "tester", owner: .legacy)
        try [UInt8](repeating: 2, count: 1_000).withUnsafeBytes { try upload.write($0, at: 0) }
        try upload.commit()
        let started = Timestamp.now
        test.store.uploads.noteStored(at: .now() + .seconds(120))
        let scrubber = BlobScrubber(store: test.store, logger: TestLogger.make())
        try scrubber.start()
        defer { scrubber.stop() }
        #expect(try eventually(60) { try test.store.catalog.blobsToScrub(checkedBefore: started, limit: 10).isEmpty },
                "checked while uploads never stopped")
        #expect(try test.store.catalog.blobsToScrub(checkedBefore: started.adding(seconds: 8.5), limit: 10).isEmpty,
                "after waiting for a pause first")
    }
}
