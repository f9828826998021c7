import Foundation
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeCore

@Suite struct ManifestTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/vtk").path

    func uploadAndSettle(_ test: TestStore, _ path: String, annotations: [FieldAnnotation] = []) throws -> (LakeObject, [LakeObject]) {
        let tree = try Uploader(store: test.store).uploadTree(UploadRequest(path: path, annotations: annotations, createdBy: "t"))
        let settled = try ProcessingWait(worker: ProcessingWorker(store: test.store)).untilSettled(tree.allIDs)
        return (settled.last!, Array(settled.dropLast()))
    }

    /// A manifest written by VTK beside its blocks, copied so tests can damage it.
    func copyOfRun(_ test: TestStore) throws -> String {
        try Fixtures.copyRunManifest(into: test.directory.file("case"))
    }

    @Test func aManifestUploadsItsBlocksAndUnitesTheirFields() throws {
        let test = try TestStore()
        let (vtm, children) = try uploadAndSettle(test, try copyOfRun(test))
        #expect(vtm.status == .ready, "\(vtm.failureReason ?? "")")
        #expect(children.count == 2 && children.allSatisfy { $0.status == .ready && $0.format == .vtu })
        #expect(vtm.contentReferences.map(\.path) == ["run/run_0.vtu", "run/run_1.vtu"])
        #expect(vtm.contentReferences.map(\.objectId) == children.map(\.id))
        let expected = try LakeJSON.decoder().decode([String: [Field]].self,
                                                     from: Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/expected.json")))["run.vtm"]!
        let fields = vtm.provisions.compactMap { if case .field(let f) = $0 { return f } else { return nil } }
        #expect(fields.count == expected.count)
        for e in expected {
            let a = try #require(fields.first { $0.label == e.label && $0.elementAssoc == e.elementAssoc })
            #expect(a.numTuples == e.numTuples)
            #expect(a.magnitudeStats.hist128 == e.magnitudeStats.hist128, "pooled hist128 of \(e.label)")
            #expect(a.magnitudeStats.min == e.magnitudeStats.min && a.magnitudeStats.max == e.magnitudeStats.max)
            #expect(abs(a.magnitudeStats.mean! - e.magnitudeStats.mean!) <= 1e-9 * abs(e.magnitudeStats.mean!))
            #expect(abs(a.magnitudeStats.stdev! - e.magnitudeStats.stdev!) <= 1e-9 * abs(e.magnitudeStats.stdev!))
        }
    }

    @Test func annotationsMatchFieldsOrBecomeWarnings() throws {
        let test = try TestStore()
        let annotations = [try FieldAnnotation.parse("p:POINT=PRESSURE@kPa"), try FieldAnnotation.parse("U:POINT=VELOCITY"),
                           try FieldAnnotation.parse("T:CELL=TEMPERATURE")]
        let (vtm, _) = try uploadAndSettle(test, try copyOfRun(test), annotations: annotations)
        let fields = vtm.provisions.compactMap { if case .field(let f) = $0 { return f } else { return nil } }
        let p = try #require(fields.first { $0.label == "p" })
        #expect(p.quantityType == "PRESSURE" && p.units == "kPa")
        #expect(fields.first { $0.label == "U" }?.units == "m/s")
        #expect(vtm.warnings.contains { $0.contains("T:CELL=TEMPERATURE matches no field") })
        #expect(vtm.warnings.contains { $0.contains("'kPa', not PRESSURE's canonical 'Pa'") })
    }

    @Test(arguments: [
        ("/etc/passwd.vtu", "is an absolute path"),
        ("../outside.vtu", "escapes the manifest's folder"),
        ("run/../../outside.vtu", "escapes the manifest's folder"),
        ("run/not-there.vtu", "reference 'run/not-there.vtu' could not be uploaded: no such file"),
    ])
    func aBadReferenceFailsTheManifestNamingIt(reference: String, reason: String) throws {
        let test = try TestStore()
        let path = try copyOfRun(test)
        let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "run/run_1.vtu", with: reference)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        let (vtm, children) = try uploadAndSettle(test, path)
        #expect(vtm.status == .failed)
        #expect(vtm.failureReason?.contains(reason) == true, "\(vtm.failureReason ?? "")")
        #expect(vtm.failureReason?.contains(reference) == true)
        #expect(children.count == 1 && children[0].status == .ready)
    }

    @Test func aFailedBlockFailsTheManifest() throws {
        let test = try TestStore()
        let path = try copyOfRun(test)
        try "garbage".write(toFile: test.directory.file("case/run/run_1.vtu"), atomically: true, encoding: .utf8)
        let (vtm, children) = try uploadAndSettle(test, path)
        #expect(children.map(\.status) == [.ready, .failed])
        #expect(vtm.status == .failed)
        #expect(vtm.failureReason?.contains("block 'run/run_1.vtu'") == true)
        #expect(vtm.failureReason?.contains("not an XML file") == true)
    }

    @Test func aManifestWaitsForBlocksProcessedElsewhere() throws {
        let test = try TestStore()
        let tree = try Uploader(store: test.store).uploadTree(UploadRequest(path: try copyOfRun(test), createdBy: "t"))
        // Only the manifest is offered: it cannot be claimed while its blocks are unprocessed.
        let worker = ProcessingWorker(store: test.store)
        #expect(try worker.processNext(among: [tree.root.id]) == nil)
        _ = try worker.drain(among: tree.descendants.map(\.id))
        #expect(try worker.processNext(among: [tree.root.id])?.status == .ready)
    }
}
