import Foundation
import LakeCatalog
import LakeFormats
import LakeModel
import LakeTestSupport
import Testing
@testable import LakeCore

@Suite struct ProcessingTests {
    func upload(_ test: TestStore, _ name: String, _ contents: Data, units: String? = "mm") throws -> LakeObject {
        let path = test.directory.write(name, contents)
        return try Uploader(store: test.store).upload(UploadRequest(path: path, geometryUnits: units, createdBy: "t"))
    }

    @Test func stlAndStepBecomeReadyWithGeometry() throws {
        let test = try TestStore()
        let stl = try upload(test, "part.stl", Data(Fixtures.asciiSTL(triangles: 4).utf8))
        let step = try upload(test, "part.step", Data(Fixtures.step.utf8), units: "m")
        #expect(stl.status == .uploaded && step.status == .uploaded)
        let done = try ProcessingWait(worker: ProcessingWorker(store: test.store)).untilSettled([stl.id, step.id])
        #expect(done.map(\.status) == [.ready, .ready])
        #expect(done[0].provisions == [.geometry(Geometry(units: "mm", triangleCount: 4, bounds: Bounds(min: [0, 0, -2.5], max: [4, 1, 0])))])
        #expect(done[1].provisions == [.geometry(Geometry(units: "m"))])
        #expect(done[0].warnings.isEmpty)
    }

    @Test func malformedGeometryFailsWithAReasonAndOthersStillProcess() throws {
        let test = try TestStore()
        let bad = try upload(test, "bad.step", Data("not step".utf8))
        let good = try upload(test, "good.stl", Data(Fixtures.asciiSTL().utf8))
        let done = try ProcessingWait(worker: ProcessingWorker(store: test.store)).untilSettled([bad.id, good.id])
        #expect(done[0].status == .failed)
        #expect(done[0].failureReason?.contains("ISO-10303-21") == true)
        #expect(done[1].status == .ready)
    }

    @Test func missingUnitsAreAWarningAndCanBeSetOnceLater() throws {
        let test = try TestStore()
        let object = try upload(test, "part.stl", Data(Fixtures.asciiSTL().utf8), units: nil)
        let ready = try ProcessingWait(worker: ProcessingWorker(store: test.store)).untilSettled([object.id])[0]
        #expect(ready.warnings.first?.contains("no geometry units") == true)
        let updated = try test.store.catalog.updateObject(object.id, ObjectUpdate(geometryUnits: "in"), at: .now)
        guard case .geometry(let geometry) = updated.provisions.first else {
            Issue.record("no geometry provision")
            return
        }
        #expect(geometry.units == "in")
    }

    @Test func formatsWithoutAProcessorWaitInTheQueue() throws {
        let test = try TestStore()
        let object = try upload(test, "part.step", Data(Fixtures.step.utf8))
        // A worker that cannot process STEP leaves it queued …
        let stlOnly = Processors(table: [.stl: Processors.standard.processor(for: .stl)!])
        let wait = ProcessingWait(worker: ProcessingWorker(store: test.store, processors: stlOnly))
        let settled = try wait.untilSettled([object.id])
        #expect(settled[0].status == .uploaded)
        #expect(!wait.canProcess(settled[0]))
        // … until a worker that can comes along.
        let processed = try ProcessingWorker(store: test.store).drain()
        #expect(processed.map(\.id) == [object.id])
        #expect(processed[0].status == .ready)
    }

    @Test func anObjectWhoseWorkerDiedIsClaimedAgain() throws {
        let test = try TestStore()
        let object = try upload(test, "part.stl", Data(Fixtures.asciiSTL().utf8))
        // A worker claims it with a short lease and "dies" (never finishes).
        let dead = try test.store.catalog.claimForProcessing(formats: [.stl], among: nil, owner: "dead", leaseSeconds: 0.05,
                                                              maxAttempts: 3, now: .now)
        #expect(dead?.object.id == object.id)
        Thread.sleep(forTimeInterval: 0.1)
        let redone = try ProcessingWorker(store: test.store).drain()
        #expect(redone.map(\.status) == [.ready])
    }

    @Test func aProcessorErrorThatIsNotAFormatErrorFailsTheObjectNotTheWorker() throws {
        let test = try TestStore()
        let object = try upload(test, "part.stl", Data(Fixtures.asciiSTL().utf8))
        struct Boom: Error {}
        let failing = Processors(table: [.stl: { _ in throw Boom() }])
        let done = try ProcessingWorker(store: test.store, processors: failing).drain()
        #expect(done.first?.id == object.id && done.first?.status == .failed)
    }

    /// A processor that outlives its first lease keeps its object: while it runs, the worker
    /// renews the lease, so another worker that looks when the first lease has run out (its
    /// `now` is set there: no test waits for a lease to expire) finds the object held; the
    /// outcome (with the blob's MD5, recorded in the same transaction) is kept.
    @Test func aLongProcessorKeepsItsLease() throws {
        let test = try TestStore()
        let object = try upload(test, "part.stl", Data(Fixtures.asciiSTL().utf8))
        let store = test.store
        let expiry: @Sendable () throws -> Timestamp? = { try store.catalog.queuedObjects().first { $0.id == object.id }?.leaseExpiresAt }
        nonisolated(unsafe) var renewals = 0
        nonisolated(unsafe) var stolen = false
        let slow = Processors(table: [.stl: { input in
            guard let first = try expiry() else { throw FormatError("the object being processed has no lease") }
            var last = first
            // Runs until the worker has renewed the lease twice.
            _ = try eventually(60) {
                guard let now = try expiry(), now.microseconds > last.microseconds else { return false }
                last = now
                renewals += 1
                return renewals == 2
            }
            stolen = try store.catalog.claimForProcessing(formats: [.stl], among: nil, owner: "other", leaseSeconds: 1,
                                                          maxAttempts: 3, now: first.adding(seconds: 0.001)) != nil
            return try Processors.standard.processor(for: .stl)!(input)
        }])
        let done = try ProcessingWorker(store: test.store, processors: slow, leaseSeconds: 0.9).drain()
        #expect(renewals == 2, "the lease was renewed \(renewals) times")
        #expect(!stolen, "another worker claimed the object when the first lease ran out")
        #expect(done.map(\.id) == [object.id])
        #expect(done.first?.status == .ready)
        #expect(done.first?.file.blob?.contentHash.md5 != nil)
    }

    /// The daemon's processing gives way to uploads through the mount: while files keep being
    /// stored it waits (here at most 3 s), then takes a turn anyway, so an object is processed
    /// even if uploads never stop; once they stop, what is queued is processed without delay.
    /// (Uploads are made to "keep arriving" for an hour by noting one stored then, so no thread
    /// and no timing of this test's own decides when the lake looks quiet.)
    @Test func processingGivesWayToUploadsButIsNeverStarved() throws {
        let test = try TestStore()
        let uploads = test.store.uploads
        uploads.noteStored(at: .now() + 3600)
        #expect(!uploads.isQuiet(for: 1))
        #expect(!uploads.waitForQuiet(1, atMost: 0.1), "a wait that runs out says so")

        let first = try upload(test, "first.stl", Data(Fixtures.asciiSTL().utf8))
        let started = Date()
        let loop = ProcessingLoop(store: test.store, logger: test.store.logger,
                                  yielding: .init(quiet: 1, atMost: 3, turn: 0.5))
        try loop.start()
        defer { loop.stop() }
        let status = { (id: LakeID) in try test.store.catalog.object(id)?.status }
        #expect(try eventually(60) { try status(first.id) == .ready }, "never processed while uploads kept arriving")
        #expect(Date().timeIntervalSince(started) >= 2.9, "processed after \(Date().timeIntervalSince(started)) s, before giving way")

        uploads.noteStored()   // the last upload: from now on, none
        #expect(uploads.waitForQuiet(1, atMost: 60))
        let second = try upload(test, "second.stl", Data(Fixtures.asciiSTL().utf8))
        #expect(try eventually(30) { try status(second.id) == .ready })
    }
}
