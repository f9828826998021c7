import Foundation
import GRDB
import LakeModel
import LakePostgres
import LakeTestSupport
import Testing
@testable import LakeCatalog

/// Where a test's catalog lives: every test that does not look at SQLite's own file runs on
/// both engines (PostgreSQL: a database of its own on the server the tests start).
enum CatalogEngine: String, CaseIterable, Sendable {
    case sqlite, postgres
}

@Suite struct CatalogTests {
    let directory = TemporaryDirectory("catalog")
    let postgres = PostgresDatabase()

    /// A database made the first time a test opens its catalog on PostgreSQL, then reopened.
    final class PostgresDatabase: @unchecked Sendable {
        private let lock = NSLock()
        private var made: String?
        var url: String {
            get throws {
                try lock.withLock {
                    if let made { return made }
                    let server = PostgresServer.shared
                    let url = try server.makeDatabase()
                    made = url + "?password=" + server.password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                    return made!
                }
            }
        }
    }

    func open(_ engine: CatalogEngine = .sqlite, smallArm: Int = 50_000) throws -> SQLiteCatalog {
        switch engine {
        case .sqlite:
            return try SQLiteCatalog(path: directory.file("catalog.sqlite"), logger: TestLogger.make(), blobURI: { "file:///blobs/\($0)" },
                                     smallArm: smallArm)
        case .postgres:
            return try SQLiteCatalog(postgres: try postgres.url, logger: TestLogger.make(), blobURI: { "file:///blobs/\($0)" }, smallArm: smallArm)
        }
    }

    func draft(_ name: String, format: FileFormat = .stl, at millis: UInt64 = 1_800_000_000_000) -> LakeObject {
        LakeObject(id: LakeID.make(.object, at: millis), name: name, description: "", file: ObjectFile(name: name, blob: nil),
                   format: format, status: .pendingUpload, params: ["mach": Param(value: .number(0.8), units: nil),
                                                                    "v": Param(value: .vector([1, 2]), units: "m/s")],
                   tags: ["p": .string("x")], createdAt: .now, createdBy: "tester")
    }

    func blob(_ seed: Character) -> BlobRecord {
        BlobRecord(id: String(repeating: seed, count: 64), size: 10, md5: "m")
    }

    @Test(arguments: CatalogEngine.allCases) func migratesAnEmptyDatabaseAndReopens(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let all = ["2026-11-01-objects", "2026-11-22-manifest-block-wait", "2026-11-22-cases-datasets-filters", "2026-11-30-blob-damage",
                   "2026-11-30-receipts", "2026-12-01-unsettled-blobs", "2026-12-02-object-ownership", "2026-12-03-audit-log",
                   "2026-12-04-field-labels", "2026-12-05-trash", "2026-12-06-mesh-summary", "2026-12-08-unsynced-blobs", "2026-12-09-cluster"]
        #expect(try catalog.appliedMigrations() == all)
        let again = try open(engine)
        #expect(try again.appliedMigrations() == all)
    }

    @Test(arguments: CatalogEngine.allCases) func refusesACatalogFromANewerLake(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let table = engine == .sqlite ? "grdb_migrations (identifier)" : "lake_migrations (name, applied_at)"
        let values = engine == .sqlite ? "('2099-01-01-future')" : "('2099-01-01-future', 0)"
        try catalog.write { db in try db.execute(sql: "INSERT INTO \(table) VALUES \(values)") }
        #expect(throws: CatalogError.newerSchema(unknownMigrations: ["2099-01-01-future"])) { try open(engine) }
        let column = engine == .sqlite ? "identifier FROM grdb_migrations" : "name FROM lake_migrations"
        let names = try catalog.read { db in try db.fetchValues(String.self, sql: "SELECT \(column) ORDER BY 1") }
        #expect(names == ["2026-11-01-objects", "2026-11-22-cases-datasets-filters", "2026-11-22-manifest-block-wait",
                          "2026-11-30-blob-damage", "2026-11-30-receipts", "2026-12-01-unsettled-blobs", "2026-12-02-object-ownership",
                          "2026-12-03-audit-log", "2026-12-04-field-labels", "2026-12-05-trash", "2026-12-06-mesh-summary", "2026-12-08-unsynced-blobs",
                          "2026-12-09-cluster", "2099-01-01-future"])
    }

    /// An object keeps the owner and mode it was made with; one made before they were recorded
    /// (NULL columns after the migration) is root's and readable by everyone, as it was.
    @Test(arguments: CatalogEngine.allCases) func objectsKeepTheirOwnerAndOlderOnesAreRoots(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        var object = draft("private.stl")
        object.owner = Ownership(uid: 1001, gid: 1002, mode: 0o600)
        try catalog.createPendingObject(object)
        #expect(try catalog.object(object.id)?.owner == Ownership(uid: 1001, gid: 1002, mode: 0o600))
        let older = draft("older.stl", at: 1_800_000_000_001)
        try catalog.createPendingObject(older)
        try catalog.write { db in
            try db.execute(sql: "UPDATE objects SET owner_uid = NULL, owner_gid = NULL, mode = NULL WHERE id = ?", arguments: [older.id.rawValue])
        }
        #expect(try catalog.object(older.id)?.owner == .legacy)
        #expect(try catalog.objectSummaries().map(\.owner) == [Ownership(uid: 1001, gid: 1002, mode: 0o600), .legacy])
    }

    /// A blob recorded while its syncs ran, that never reached the disk: its object goes with its
    /// receipt, and the blob's record unless another object uses the same bytes.
    @Test(arguments: CatalogEngine.allCases) func discardingAnUnsyncedBlobRemovesItsObjectAndReceipt(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let lost = draft("lost.stl"), twin = draft("twin.stl", at: 1_800_000_000_001), other = draft("other.stl", at: 1_800_000_000_002)
        func receipt(_ object: LakeObject, _ node: Int64, _ blob: String) -> Receipt {
            Receipt(node: node, parent: 0, name: Array(object.name.utf8), isFolder: false, objectID: object.id, blobID: blob, size: 10,
                    mode: 0o644, uid: 0, gid: 0, modified: 1, accessed: 1)
        }
        for (node, (object, seed)) in [(lost, Character("a")), (twin, "a"), (other, "b")].enumerated() {
            try catalog.completeUpload(object.id, blob: blob(seed), at: .now, links: nil, receipt: receipt(object, Int64(node + 1), blob(seed).id),
                                       creating: object, unsettled: nil, unsynced: true)
        }
        let marks = try catalog.unsyncedBlobs()
        #expect(marks.map(\.objectID) == [lost.id, twin.id, other.id])
        #expect(try catalog.discardUnsynced(object: marks[0].objectID, blob: marks[0].id, reason: "test", at: .now))
        #expect(try catalog.object(lost.id) == nil)
        #expect(try catalog.receipts().map(\.node) == [2, 3])
        #expect(try catalog.isBlobRecorded(blob("a").id), "the twin still uses the bytes")
        #expect(try catalog.discardUnsynced(object: marks[1].objectID, blob: marks[1].id, reason: "test", at: .now))
        #expect(try !catalog.isBlobRecorded(blob("a").id))
        #expect(try !catalog.discardUnsynced(object: marks[1].objectID, blob: marks[1].id, reason: "again", at: .now), "already gone")
        #expect(try catalog.auditLog(id: lost.id, uid: nil, limit: 5, before: nil).first?.action == "object.discard")
        try catalog.forgetUnsyncedBlobs(of: [other.id])
        #expect(try catalog.unsyncedBlobs().isEmpty)
        #expect(try catalog.object(other.id)?.status == .uploaded)
    }

    /// The audit trail records changes in their transactions and cannot be rewritten: the
    /// catalog itself refuses to change or remove a line, whoever asks.
    @Test(arguments: CatalogEngine.allCases) func theAuditLogIsAppendOnly(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let object = draft("audited.stl")
        try catalog.createPendingObject(object)
        try catalog.completeUpload(object.id, blob: blob("a"), at: .now, links: nil, receipt: nil, creating: nil, unsettled: nil, unsynced: false)
        _ = try catalog.updateObject(object.id, ObjectUpdate(name: "renamed"), at: .now)
        _ = try catalog.changeAccess(object.id, mode: 0o600, gid: nil, by: Actor(uid: 1001, user: "alice"), at: .now)
        try catalog.recordAudit("mount", id: nil, details: ["mountpoint": .string("/lake")], by: nil, at: .now)
        let entries = try catalog.auditLog(id: nil, uid: nil, limit: 10, before: nil)
        #expect(entries.map(\.action) == ["mount", "object.chmod", "object.update", "object.create"])
        #expect(entries[1].uid == 1001 && entries[1].user == "alice" && entries[1].details["mode"] == .string("0600"))
        #expect(entries[2].details["name"] == .string("renamed"))
        #expect(try catalog.auditLog(id: object.id, uid: nil, limit: 10, before: nil).count == 3)
        #expect(try catalog.auditLog(id: nil, uid: 1001, limit: 10, before: nil).map(\.action) == ["object.chmod"])
        #expect(try catalog.auditLog(id: nil, uid: nil, limit: 10, before: entries[1].seq).map(\.action) == ["object.update", "object.create"])
        for statement in [#"UPDATE audit_log SET "user" = 'someone else'"#, "DELETE FROM audit_log"] {
            #expect(throws: (any Error).self, "\(statement)") { try catalog.write { db in try db.execute(sql: statement) } }
        }
        #expect(try catalog.auditLog(id: nil, uid: nil, limit: 10, before: nil) == entries)
    }

    @Test(arguments: CatalogEngine.allCases) func objectLifecycleAndChangeSequence(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let start = try catalog.changeSequence()
        let object = draft("a.stl")
        try catalog.createPendingObject(object)
        #expect(try catalog.object(object.id)?.status == .pendingUpload)
        #expect(try catalog.pendingUploadIDs() == [object.id])
        try catalog.completeUpload(object.id, blob: blob("a"), at: .now)
        let uploaded = try #require(try catalog.object(object.id))
        #expect(uploaded.status == .uploaded)
        #expect(uploaded.file.blob?.uri == "file:///blobs/" + String(repeating: "a", count: 64))
        #expect(uploaded.params == object.params)
        #expect(uploaded.tags == object.tags)
        #expect(try catalog.changeSequence() == start + 2)
        // A completed upload is not pending any more, so it cannot be reaped.
        #expect(try !catalog.deletePendingObject(object.id))
        #expect(throws: CatalogError.self) {
            try catalog.completeUpload(object.id, blob: blob("a"), at: .now)
        }
    }

    @Test(arguments: CatalogEngine.allCases) func updateReplacesTagsAndSetsGeometryUnitsOnce(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let object = draft("b.stl")
        try catalog.createPendingObject(object)
        var updated = try catalog.updateObject(object.id, ObjectUpdate(name: "renamed"), at: .now)
        #expect(updated.name == "renamed")
        #expect(updated.tags == ["p": .string("x")])
        updated = try catalog.updateObject(object.id, ObjectUpdate(tags: ["q": .bool(true)]), at: .now)
        #expect(updated.tags == ["q": .bool(true)])
        updated = try catalog.updateObject(object.id, ObjectUpdate(tags: [:]), at: .now)
        #expect(updated.tags.isEmpty)
        _ = try catalog.updateObject(object.id, ObjectUpdate(geometryUnits: "mm"), at: .now)
        #expect(throws: CatalogError.self) { try catalog.updateObject(object.id, ObjectUpdate(geometryUnits: "m"), at: .now) }
        let unknown = LakeID.make(.object, at: 1)
        #expect(throws: CatalogError.notFound(unknown)) {
            try catalog.updateObject(unknown, ObjectUpdate(name: "x"), at: .now)
        }
    }

    @Test(arguments: CatalogEngine.allCases) func queueClaimsWithLeasesRetriesExpiredOnesAndGivesUp(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let object = draft("c.stl")
        try catalog.createPendingObject(object)
        try catalog.completeUpload(object.id, blob: blob("c"), at: .now)
        let vtk = draft("d.vtu", format: .vtu)
        try catalog.createPendingObject(vtk)
        try catalog.completeUpload(vtk.id, blob: blob("d"), at: .now)

        var now = Timestamp.now
        let first = try #require(try catalog.claimForProcessing(formats: [.stl], among: nil, owner: "w1", leaseSeconds: 10, maxAttempts: 2, now: now))
        #expect(first.object.id == object.id && first.attempt == 1)
        // Leased: nobody else gets it, and formats without a processor are never claimed.
        #expect(try catalog.claimForProcessing(formats: [.stl], among: nil, owner: "w2", leaseSeconds: 10, maxAttempts: 2, now: now) == nil)
        // The lease expires (worker died): claimed again.
        now = now.adding(seconds: 11)
        let second = try #require(try catalog.claimForProcessing(formats: [.stl], among: nil, owner: "w2", leaseSeconds: 10, maxAttempts: 2, now: now))
        #expect(second.attempt == 2)
        // The first worker comes back too late: its result is refused.
        #expect(try !catalog.finishProcessing(object.id, owner: "w1", outcome: .failed(reason: "late"), at: now))
        // Expired again after the last attempt: FAILED with a reason.
        now = now.adding(seconds: 11)
        #expect(try catalog.claimForProcessing(formats: [.stl], among: nil, owner: "w3", leaseSeconds: 10, maxAttempts: 2, now: now) == nil)
        let failed = try #require(try catalog.object(object.id))
        #expect(failed.status == .failed)
        #expect(failed.failureReason?.contains("interrupted 2 times") == true)
        #expect(try catalog.object(vtk.id)?.status == .uploaded)
    }

    @Test(arguments: CatalogEngine.allCases) func aManifestWaitsForMissingBlocksUntilTheyAreAttachedOrTheWaitEnds(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let block = draft("b.vtu", format: .vtu)
        try catalog.createPendingObject(block)
        try catalog.completeUpload(block.id, blob: blob("b"), at: .now)
        let manifest = draft("m.vtm", format: .vtm)
        try catalog.createPendingObject(manifest)
        let now = Timestamp.now
        let links = ManifestLinks(references: [FileRef(path: "run/b.vtu", objectId: nil), FileRef(path: "./run/c.vtu", objectId: nil)],
                                  warnings: ["noted"], waitUntil: now.adding(seconds: 60))
        try catalog.completeUpload(manifest.id, blob: blob("m"), at: now, links: links)
        let stored = try #require(try catalog.object(manifest.id))
        #expect(stored.contentReferences == links.references && stored.warnings == ["noted"])
        #expect(try catalog.claimForProcessing(formats: [.vtm], among: nil, owner: "w", leaseSeconds: 10, maxAttempts: 3, now: now) == nil)
        // One block arrives: still waiting for the other; a second attach of the same path changes nothing.
        #expect(try catalog.attachBlock(block.id, to: manifest.id, paths: ["run/b.vtu"], at: now))
        #expect(try !catalog.attachBlock(block.id, to: manifest.id, paths: ["run/b.vtu"], at: now))
        #expect(try catalog.claimForProcessing(formats: [.vtm], among: nil, owner: "w", leaseSeconds: 10, maxAttempts: 3, now: now) == nil)
        _ = try #require(try catalog.claimForProcessing(formats: [.vtu], among: nil, owner: "w", leaseSeconds: 10, maxAttempts: 3, now: now))
        #expect(try catalog.finishProcessing(block.id, owner: "w", outcome: .ready(provisions: EncodedProvisions([]), warnings: []), at: now))
        #expect(try catalog.claimForProcessing(formats: [.vtm], among: nil, owner: "w", leaseSeconds: 10, maxAttempts: 3, now: now) == nil)
        // The wait ends and the attached block has settled: the manifest is claimed (its processing then fails naming the missing block).
        let claim = try #require(try catalog.claimForProcessing(formats: [.vtm], among: nil, owner: "w", leaseSeconds: 10, maxAttempts: 3,
                                                                now: now.adding(seconds: 61)))
        #expect(claim.object.contentReferences == [FileRef(path: "run/b.vtu", objectId: block.id), FileRef(path: "./run/c.vtu", objectId: nil)])
        // A settled (or processing) manifest never changes its references.
        #expect(try !catalog.attachBlock(block.id, to: manifest.id, paths: ["./run/c.vtu"], at: now))
    }

    /// Every plan the filter search can take gives what a plain check of every object gives:
    /// the same objects, newest first, page by page.
    @Test(arguments: CatalogEngine.allCases, [50_000, 40, 0])
    func filtersAgreeWithCheckingEveryObject(engine: CatalogEngine, smallArm: Int) throws {
        let catalog = try open(engine, smallArm: smallArm)
        let now = Timestamp.now
        let objects = (0..<400).map { i -> LakeObject in
            let stats = FieldStats(count: 1, nanCount: 0, min: Double(i % 50), max: Double(i % 97), mean: Double(i % 7), stdev: 0, hist128: [])
            let field = Field(label: i % 3 == 1 ? "p_mean" : "p", elementAssoc: i % 3 == 0 ? .cell : .point, numComponents: 1, numTuples: 1, dataType: "Float64",
                              hasNan: false, componentStats: [], magnitudeStats: stats, quantityType: i % 2 == 0 ? "PRESSURE" : nil)
            return LakeObject(id: LakeID.make(.object, at: 1_800_000_000_000 + UInt64(i)), name: "n\(i)", description: "",
                              file: ObjectFile(name: "n\(i)", blob: nil), format: .vtu, status: i % 11 == 0 ? .failed : .ready,
                              params: ["mach": Param(value: .number(Double(i % 13) / 10)), "solver": Param(value: .string(i % 4 == 0 ? "les" : "rans"))],
                              tags: ["project": .string("p\(i % 5)"), "list": .array([.number(Double(i % 3)), .number(9)])],
                              provisions: [.field(field)], createdAt: now, createdBy: "t")
        }
        try catalog.insertSettledObjects(Array(objects[..<200]))
        try catalog.insertSettledObjects(Array(objects[200...]))
        var pressure = ProvisionFilter()
        pressure.quantityType = "PRESSURE"
        pressure.magMax.lte = 60
        var filters: [ObjectFilter] = []
        var f = ObjectFilter(); f.tags = [["project": .string("p2")]]; f.params = [ParamFilter(key: "mach", matcher: .number(RangeFilter(gte: 0.5)))]; filters.append(f)
        f = ObjectFilter(); f.provisions = [pressure]; f.params = [ParamFilter(key: "solver", matcher: .string("les"))]; filters.append(f)
        f = ObjectFilter(); f.tags = [["list": .array([.number(1)])]]; f.statuses = [.ready]; filters.append(f)
        f = ObjectFilter(); f.params = [ParamFilter(key: "mach", matcher: .number(RangeFilter(gt: 0.2, ne: 0.7)))]; filters.append(f)
        f = ObjectFilter(); f.nameContains = "N1"; filters.append(f)
        var byLabel = ProvisionFilter()
        byLabel.label = "p_mean"
        f = ObjectFilter(); f.provisions = [byLabel]; f.params = [ParamFilter(key: "solver", matcher: .string("les"))]; filters.append(f)
        var labelled = ProvisionFilter()
        labelled.labelContains = "_me"
        labelled.quantityType = "PRESSURE"
        f = ObjectFilter(); f.provisions = [labelled]; filters.append(f)
        func matches(_ o: LakeObject, _ filter: ObjectFilter) -> Bool {
            if !filter.statuses.isEmpty && !filter.statuses.contains(o.status) { return false }
            if let text = filter.nameContains, !o.name.lowercased().contains(text.lowercased()) { return false }
            for tags in filter.tags {
                for (key, value) in tags {
                    switch (value, o.tags[key]) {
                    case (.array(let wanted), .array(let have)?): if !wanted.allSatisfy(have.contains) { return false }
                    default: if o.tags[key] != value { return false }
                    }
                }
            }
            for param in filter.params {
                switch (param.matcher, o.params[param.key]?.value) {
                case (.number(let range), .number(let n)?):
                    for (op, v) in range.bounds where !(op == ">=" ? n >= v : op == ">" ? n > v : op == "<=" ? n <= v : op == "<" ? n < v : op == "=" ? n == v : n != v) { return false }
                case (.string(let s), .string(let have)?): if s != have { return false }
                default: return false
                }
            }
            for provision in filter.provisions {
                let ok = o.provisions.contains { p in
                    guard case .field(let field) = p else { return false }
                    return (provision.quantityType == nil || field.quantityType == provision.quantityType)
                        && (provision.label == nil || field.label == provision.label)
                        && (provision.labelContains.map { field.label.contains($0) } ?? true)
                        && provision.magMax.bounds.allSatisfy { op, v in op == "<=" ? field.magnitudeStats.max! <= v : true }
                }
                if !ok { return false }
            }
            return true
        }
        for filter in filters {
            let expected = objects.reversed().filter { matches($0, filter) }.map(\.id)
            #expect(!expected.isEmpty)
            var got: [LakeID] = []
            var cursor: LakeID?
            repeat {
                let page = try catalog.objects(matching: filter, limit: 7, after: cursor).map(\.id)
                got += page
                cursor = page.count == 7 ? page.last : nil
            } while cursor != nil
            #expect(got == expected, "\(filter)")
        }
    }

    /// `lake upload` and `lake wait` process their own objects, oldest first, and leave the rest
    /// of the queue to others; the ids are written once for all the claims of a wait.
    @Test(arguments: CatalogEngine.allCases) func aClaimAmongSomeObjectsTakesOnlyThose(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        var ids: [LakeID] = []
        for name in ["a", "b", "c", "d"] as [Character] {
            let object = draft("\(name).stl")
            try catalog.createPendingObject(object)
            try catalog.completeUpload(object.id, blob: blob(name), at: .now)
            ids.append(object.id)
        }
        let stranger = LakeID.make(.object, at: 1)   // never uploaded
        let scope = ClaimScope([ids[3], stranger, ids[0], ids[2]])
        var claimed: [LakeID] = []
        while let claim = try catalog.claimForProcessing(formats: [.stl], among: scope, owner: "w", leaseSeconds: 10, maxAttempts: 3, now: .now) {
            claimed.append(claim.object.id)
            #expect(try catalog.finishProcessing(claim.object.id, owner: "w", outcome: .failed(reason: "x"), at: .now))
        }
        #expect(claimed == [ids[0], ids[2], ids[3]])
        #expect(try catalog.object(ids[1])?.status == .uploaded, "not in the scope: left to others")
        #expect(try catalog.claimForProcessing(formats: [.stl], among: ClaimScope([]), owner: "w", leaseSeconds: 10, maxAttempts: 3, now: .now) == nil)
        #expect(try catalog.claimForProcessing(formats: [.stl], among: nil, owner: "w", leaseSeconds: 10, maxAttempts: 3, now: .now)?.object.id == ids[1])
    }

    /// `lake object reprocess`: a FAILED object back in the queue, all or none, and the case it
    /// made INVALID waiting again; READY, queued, trashed and unknown objects refused.
    @Test(arguments: CatalogEngine.allCases) func aFailedObjectIsQueuedAgainWithTheCasesItInvalidated(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        var ids: [LakeID] = []
        for (index, name) in (["f", "r", "q", "t"] as [Character]).enumerated() {
            let object = draft("\(name).stl", at: 1_800_000_000_000 + UInt64(index))
            try catalog.createPendingObject(object)
            try catalog.completeUpload(object.id, blob: blob(name), at: .now)
            ids.append(object.id)
        }
        let (failed, ready, queued, trashed) = (ids[0], ids[1], ids[2], ids[3])
        let geometry = [Provision.geometry(Geometry(units: "m", triangleCount: 3, bounds: nil))]
        for (id, outcome) in [(failed, ProcessingOutcome.failed(reason: "processing needed more open files")),
                              (ready, .ready(provisions: EncodedProvisions(geometry), warnings: [])),
                              (trashed, .failed(reason: "x"))] {
            let claim = try #require(try catalog.claimForProcessing(formats: [.stl], among: ClaimScope([id]), owner: "w", leaseSeconds: 10,
                                                                    maxAttempts: 3, now: .now))
            #expect(try catalog.finishProcessing(claim.object.id, owner: "w", outcome: outcome, at: .now))
        }
        _ = try catalog.trashObjects([trashed], at: .now)
        func makeCase(_ name: String, _ members: [LakeID], at millis: UInt64) throws -> LakeID {
            try catalog.createCase(LakeCase(id: LakeID.make(.case, at: millis), name: name, status: .unsettled,
                                            members: members.enumerated().map { CaseMember(objectId: $0.element, label: "m\($0.offset)") },
                                            params: [:], createdAt: .now, createdBy: "tester")).id
        }
        let both = try makeCase("both", [failed, ready], at: 1_800_000_000_100)
        let alone = try makeCase("ready", [ready], at: 1_800_000_000_101)
        #expect(try catalog.case(both)?.status == .invalid && catalog.case(alone)?.status == .ready)

        for refused in [[ready], [failed, ready], [queued], [trashed], [failed, LakeID.make(.object, at: 7)]] {
            #expect(throws: (any Error).self, "\(refused)") { try catalog.reprocessObjects(refused, at: .now) }
        }
        #expect(try catalog.object(failed)?.status == .failed, "all or none")
        #expect(try catalog.case(both)?.status == .invalid)

        let again = try catalog.reprocessObjects([failed, failed], at: .now)
        #expect(again.map(\.id) == [failed] && again.first?.status == .uploaded && again.first?.failureReason == nil)
        let stored = try #require(try catalog.object(failed))
        #expect(stored.status == .uploaded && stored.failureReason == nil && stored.processedAt == nil)
        let waiting = try #require(try catalog.case(both))
        #expect(waiting.status == .unsettled && waiting.failureReason == nil && waiting.provisions.isEmpty)
        #expect(try catalog.case(alone)?.status == .ready, "a case without the object is left alone")
        let audit = try #require(try catalog.auditLog(id: failed, uid: nil, limit: 1, before: nil).first)
        #expect(audit.action == "object.reprocess" && audit.details["failure_reason"] == .string("processing needed more open files"))

        // Claimed as a first attempt, processed, and the case settles with it.
        let claim = try #require(try catalog.claimForProcessing(formats: [.stl], among: nil, owner: "w2", leaseSeconds: 10, maxAttempts: 3, now: .now))
        #expect(claim.object.id == failed && claim.attempt == 1)
        #expect(try catalog.finishProcessing(failed, owner: "w2", outcome: .ready(provisions: EncodedProvisions(geometry), warnings: []), at: .now))
        let settled = try #require(try catalog.case(both))
        #expect(settled.status == .ready && !settled.provisions.isEmpty, "\(settled.status) \(settled.failureReason ?? "")")
    }

    /// A manifest failed over a block that failed: reprocessing the manifest takes its FAILED
    /// blocks along (not its READY ones), and the manifest waits for them as on its first run.
    @Test(arguments: CatalogEngine.allCases) func aManifestIsReprocessedWithItsFailedBlocks(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        var blocks: [LakeID] = []
        for (index, name) in (["x", "y"] as [Character]).enumerated() {
            let block = draft("\(name).vtu", format: .vtu, at: 1_800_000_000_000 + UInt64(index))
            try catalog.createPendingObject(block)
            try catalog.completeUpload(block.id, blob: blob(name), at: .now)
            blocks.append(block.id)
        }
        let manifest = draft("m.vtm", format: .vtm, at: 1_800_000_000_010)
        try catalog.createPendingObject(manifest)
        let links = ManifestLinks(references: [FileRef(path: "run/x.vtu", objectId: blocks[0]), FileRef(path: "run/y.vtu", objectId: blocks[1])],
                                  warnings: [], waitUntil: nil)
        try catalog.completeUpload(manifest.id, blob: blob("m"), at: .now, links: links)
        for (id, outcome) in [(blocks[0], ProcessingOutcome.failed(reason: "out of time")),
                              (blocks[1], .ready(provisions: EncodedProvisions([]), warnings: [])),
                              (manifest.id, .failed(reason: "block 'run/x.vtu' failed"))] {
            let claim = try #require(try catalog.claimForProcessing(formats: [.vtu, .vtm], among: nil, owner: "w", leaseSeconds: 10,
                                                                    maxAttempts: 3, now: .now))
            #expect(claim.object.id == id)
            #expect(try catalog.finishProcessing(id, owner: "w", outcome: outcome, at: .now))
        }
        let queued = try catalog.reprocessObjects([manifest.id], at: .now)
        #expect(queued.map(\.id) == [blocks[0], manifest.id])
        #expect(try catalog.object(blocks[1])?.status == .ready)
        let first = try #require(try catalog.claimForProcessing(formats: [.vtu, .vtm], among: nil, owner: "w", leaseSeconds: 10, maxAttempts: 3, now: .now))
        #expect(first.object.id == blocks[0])
        #expect(try catalog.claimForProcessing(formats: [.vtu, .vtm], among: nil, owner: "w", leaseSeconds: 10, maxAttempts: 3, now: .now) == nil,
                "the manifest waits for its block")
        #expect(try catalog.finishProcessing(blocks[0], owner: "w", outcome: .ready(provisions: EncodedProvisions([]), warnings: []), at: .now))
        #expect(try catalog.claimForProcessing(formats: [.vtu, .vtm], among: nil, owner: "w", leaseSeconds: 10, maxAttempts: 3, now: .now)?.object.id == manifest.id)
    }

    @Test(arguments: CatalogEngine.allCases) func finishingRecordsProvisionsAndWarnings(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let object = draft("e.stl")
        try catalog.createPendingObject(object)
        try catalog.completeUpload(object.id, blob: blob("e"), at: .now)
        _ = try #require(try catalog.claimForProcessing(formats: [.stl], among: ClaimScope([object.id]), owner: "w", leaseSeconds: 10, maxAttempts: 3, now: .now))
        #expect(try catalog.renewLease(object.id, owner: "w", leaseSeconds: 10, now: .now))
        #expect(try !catalog.renewLease(object.id, owner: "other", leaseSeconds: 10, now: .now))
        let provisions = [Provision.geometry(Geometry(units: "m", triangleCount: 3, bounds: nil))]
        #expect(try catalog.finishProcessing(object.id, owner: "w", outcome: .ready(provisions: EncodedProvisions(provisions), warnings: ["w1"]), at: .now))
        let ready = try #require(try catalog.object(object.id))
        #expect(ready.status == .ready && ready.provisions == provisions && ready.warnings == ["w1"] && ready.processedAt != nil)
    }

    /// Pages of objects with their provisions left as stored text are the same pages as the
    /// decoded ones — with and without a filter, from a cursor — and the text decodes to them.
    @Test(arguments: CatalogEngine.allCases) func storedPagesAreTheDecodedPages(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        var ids: [LakeID] = []
        for index in 0..<7 {
            let object = draft("s\(index).stl")
            try catalog.createPendingObject(object)
            try catalog.completeUpload(object.id, blob: blob(Character(String(index))), at: .now)
            ids.append(object.id)
            guard index % 2 == 0 else { continue }
            _ = try #require(try catalog.claimForProcessing(formats: [.stl], among: ClaimScope([object.id]), owner: "w", leaseSeconds: 10, maxAttempts: 3, now: .now))
            let provisions = [Provision.geometry(Geometry(units: "m", triangleCount: Int64(index + 1), bounds: nil))]
            #expect(try catalog.finishProcessing(object.id, owner: "w", outcome: .ready(provisions: EncodedProvisions(provisions), warnings: []), at: .now))
        }
        var ready = ObjectFilter()
        ready.statuses = [.ready]
        for (filter, cursor, limit) in [(nil, nil, 10), (nil, ids[5], 3), (ready, nil, 10), (ready, ids[4], 1)] as [(ObjectFilter?, LakeID?, Int)] {
            let decoded = try filter.map { try catalog.objects(matching: $0, limit: limit, after: cursor) } ?? catalog.objects(limit: limit, after: cursor)
            let stored = try catalog.storedObjects(matching: filter, limit: limit, after: cursor)
            #expect(stored.map(\.object.id) == decoded.map(\.id), "filter \(filter != nil), after \(cursor?.rawValue ?? "-")")
            #expect(!decoded.isEmpty)
            for (text, object) in zip(stored, decoded) {
                #expect(text.object.provisions.isEmpty)
                #expect(text.provisions == object.provisions)
                var whole = text.object
                whole.provisions = object.provisions
                #expect(whole == object)
            }
        }
    }

    /// The filter index takes a processed object's fields in batches of 500 rows a statement:
    /// 1,234 fields are two full batches and a short one, each field findable by its values.
    @Test(arguments: CatalogEngine.allCases) func everyFieldOfAManyFieldObjectIsIndexed(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let object = draft("many.vtp", format: .vtp)
        try catalog.createPendingObject(object)
        try catalog.completeUpload(object.id, blob: blob("m"), at: .now)
        _ = try #require(try catalog.claimForProcessing(formats: [.vtp], among: ClaimScope([object.id]), owner: "w", leaseSeconds: 10, maxAttempts: 3, now: .now))
        let provisions = (0..<1234).map { index in
            let stats = FieldStats(count: 1, nanCount: 0, min: Double(index), max: Double(index), mean: Double(index), stdev: 0, hist128: [])
            return Provision.field(Field(label: "f\(index)", elementAssoc: index % 2 == 0 ? .point : .cell, numComponents: 1, numTuples: 1,
                                         dataType: "Float32", hasNan: false, componentStats: [ComponentStats(name: "0", stats: stats)],
                                         magnitudeStats: stats, units: index == 1233 ? "Pa" : nil))
        }
        #expect(try catalog.finishProcessing(object.id, owner: "w", outcome: .ready(provisions: EncodedProvisions(provisions), warnings: []), at: .now))
        for index in [0, 499, 500, 999, 1000, 1233] {
            var field = ProvisionFilter()
            field.label = "f\(index)"
            field.elementAssoc = index % 2 == 0 ? .point : .cell
            field.magMax = RangeFilter(gte: Double(index) - 0.5, lte: Double(index) + 0.5)
            var filter = ObjectFilter()
            filter.provisions = [field]
            #expect(try catalog.objects(matching: filter, limit: 10, after: nil).map(\.id) == [object.id], "field \(index)")
            field.magMax = RangeFilter(gte: Double(index) + 0.5)
            filter.provisions = [field]
            #expect(try catalog.objects(matching: filter, limit: 10, after: nil).isEmpty, "field \(index) out of range")
        }
        var units = ProvisionFilter()
        units.units = "Pa"
        var filter = ObjectFilter()
        filter.provisions = [units]
        #expect(try catalog.objects(matching: filter, limit: 10, after: nil).map(\.id) == [object.id])
    }

    @Test(arguments: CatalogEngine.allCases) func listsNewestFirstWithACursorAndCountsStatuses(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        var ids: [LakeID] = []
        for i in 0..<5 {
            let object = draft("f\(i).stl", at: 1_800_000_000_000 + UInt64(i))
            try catalog.createPendingObject(object)
            ids.append(object.id)
        }
        let page = try catalog.objects(limit: 2, after: nil)
        #expect(page.map(\.id) == [ids[4], ids[3]])
        #expect(try catalog.objects(limit: 10, after: ids[3]).map(\.id) == [ids[2], ids[1], ids[0]])
        #expect(try catalog.statusCounts() == [.pendingUpload: 5])
    }

    @Test(arguments: CatalogEngine.allCases) func unreferencedBlobRowsAreFoundAndDeleted(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let object = draft("g.stl")
        try catalog.createPendingObject(object)
        try catalog.completeUpload(object.id, blob: blob("1"), at: .now)
        try catalog.write { db in
            try db.execute(sql: "INSERT INTO blobs (id, size, md5, created_at) VALUES (?, 1, 'm', 0)", arguments: [String(repeating: "2", count: 64)])
        }
        #expect(try catalog.unreferencedBlobRecords().map(\.id) == [String(repeating: "2", count: 64)])
        #expect(try catalog.deleteUnreferencedBlobRecords() == [String(repeating: "2", count: 64)])
        #expect(try catalog.blobRecords().map(\.id) == [String(repeating: "1", count: 64)])
        try catalog.recordMD5("abc", forBlob: String(repeating: "1", count: 64))
        #expect(try catalog.blobRecords().first?.md5 == "m")   // recorded once, never rewritten
        #expect(try catalog.objectIDs(referencingBlob: String(repeating: "1", count: 64)) == [object.id])
    }

    @Test(arguments: CatalogEngine.allCases) func blobDamageIsRecordedOnceChangesItsObjectsAndClears(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let object = draft("d.bin")
        try catalog.createPendingObject(object)
        let id = String(repeating: "3", count: 64)
        try catalog.completeUpload(object.id, blob: BlobRecord(id: id, size: 10, md5: nil), at: .now)
        let before = try catalog.changeSequence()
        let first = BlobDamage(foundBy: "scrub", foundAt: .now, reason: "first finding")
        #expect(try catalog.recordBlobDamage(id, first))
        #expect(try !catalog.recordBlobDamage(id, BlobDamage(foundBy: "open", foundAt: .now, reason: "later")))
        #expect(try !catalog.recordBlobDamage(String(repeating: "4", count: 64), first), "no such blob")
        let changes = try catalog.changes(since: before)
        #expect(changes.ids == [object.id])
        #expect(try catalog.object(object.id)?.file.blob?.damage?.reason == "first finding")
        #expect(try catalog.damagedBlobIDs() == [id])
        #expect(try catalog.blobsToScrub(checkedBefore: .now, limit: 10).isEmpty, "damaged blobs are not scrubbed again")
        #expect(try catalog.clearBlobDamage(id, at: .now))
        #expect(try catalog.object(object.id)?.file.blob?.damage == nil)
        #expect(try catalog.blobsToScrub(checkedBefore: .now, limit: 10).map(\.id) == [id], "never checked")
        try catalog.markBlobsChecked([id], at: .now)
        #expect(try catalog.blobsToScrub(checkedBefore: Timestamp.now.adding(seconds: -60), limit: 10).isEmpty)
        #expect(try catalog.blobsToScrub(checkedBefore: Timestamp.now.adding(seconds: 60), limit: 10).map(\.id) == [id], "checked before then")
    }

    /// The scrubber's order: never-checked blobs first (oldest record first), then the oldest
    /// checks, in batches; each query walks `blobs_by_checked` in its order (no sort of every
    /// candidate per call, which cost a core with 50,000 blobs unchecked).
    @Test(arguments: CatalogEngine.allCases) func blobsToScrubComeNeverCheckedFirstThenOldestCheckWithoutASort(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        var ids: [String] = []
        for (index, seed) in "56789".enumerated() {
            let object = draft("s\(index).bin", at: 1_800_000_000_000 + UInt64(index))
            try catalog.createPendingObject(object)
            let id = String(repeating: seed, count: 64)
            try catalog.completeUpload(object.id, blob: BlobRecord(id: id, size: 10, md5: nil), at: .now)
            ids.append(id)
        }
        try catalog.markBlobsChecked([ids[3]], at: Timestamp(microseconds: 2_000))
        try catalog.markBlobsChecked([ids[1]], at: Timestamp(microseconds: 1_000))
        let all = try catalog.blobsToScrub(checkedBefore: Timestamp(microseconds: 5_000), limit: 10).map(\.id)
        #expect(all == [ids[0], ids[2], ids[4], ids[1], ids[3]])
        #expect(try catalog.blobsToScrub(checkedBefore: Timestamp(microseconds: 5_000), limit: 4).map(\.id) == Array(all.prefix(4)))
        #expect(try catalog.blobsToScrub(checkedBefore: Timestamp(microseconds: 1_500), limit: 10).map(\.id) == [ids[0], ids[2], ids[4], ids[1]])
        guard engine == .sqlite else { return }   // (PostgreSQL's planner chooses by the table's size.)
        let queue = try DatabaseQueue(path: directory.file("catalog.sqlite"))
        let plan = try queue.read { db in
            try Row.fetchAll(db, sql: """
                EXPLAIN QUERY PLAN SELECT id FROM blobs INDEXED BY blobs_by_checked
                WHERE checked_at < 5 AND NOT EXISTS (SELECT 1 FROM blob_damage WHERE blob_damage.blob_id = blobs.id)
                ORDER BY checked_at LIMIT 3
                """).map { $0["detail"] as String }.joined(separator: " | ")
        }
        #expect(plan.contains("blobs_by_checked") && !plan.contains("TEMP B-TREE"), "\(plan)")
    }

    /// Commits are on disk when they return (GRDB sets NORMAL on a pool's writer; the catalog
    /// sets FULL back), and a light write leaves the writer at FULL afterwards.
    @Test func theWriterSyncsEveryDurableCommit() throws {
        let catalog = try open()
        func level() throws -> Int? { try catalog.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") } }
        #expect(try level() == 2)
        try catalog.createPendingObject(draft("light.bin"))
        #expect(try level() == 2)
    }

    /// PostgreSQL killed and started again under an open catalog: the pooled connections are
    /// found broken and replaced, and the next calls work without reopening anything.
    @Test func aRestartedPostgresIsFoundAgain() throws {
        let own = try PostgresServer()
        let url = try own.makeDatabase() + "?password=" + own.password.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let catalog = try SQLiteCatalog(postgres: url, logger: TestLogger.make(), blobURI: { $0 })
        let object = draft("before.stl")
        try catalog.createPendingObject(object)
        try own.restart()
        #expect(try catalog.object(object.id)?.name == "before.stl")
        let after = draft("after.stl", at: 1_800_000_000_001)
        try catalog.createPendingObject(after)
        #expect(try catalog.objectSummaries().map(\.id) == [object.id, after.id])
        // Down for good: a call fails (after its retries) with the server's reason, not a hang.
        own.stop()
        #expect(throws: CatalogError.self) { try catalog.object(object.id) }
    }

    /// Another machine's upload in progress is not this machine's to reap: only its own, and
    /// another's once a day old while no mount daemon of that machine is alive.
    @Test(arguments: CatalogEngine.allCases) func anotherMachinesPendingUploadIsLeftAlone(engine: CatalogEngine) throws {
        let catalog = try open(engine)
        let mine = draft("mine.stl"), theirs = draft("theirs.stl", at: 1_800_000_000_001)
        try catalog.createPendingObject(mine)
        try catalog.createPendingObject(theirs)
        #expect(try catalog.pendingUploadIDs() == [mine.id, theirs.id], "both made here")
        try catalog.write { db in try db.execute(sql: "UPDATE objects SET upload_host = 'elsewhere' WHERE id = ?", arguments: [theirs.id.rawValue]) }
        #expect(try catalog.pendingUploadIDs() == [mine.id])
        // A day old, its machine silent: this one may reap it; while a daemon there lives, not.
        let old = Timestamp.now.adding(seconds: -90_000).microseconds
        try catalog.write { db in try db.execute(sql: "UPDATE objects SET created_at = ? WHERE id = ?", arguments: [old, theirs.id.rawValue]) }
        #expect(try catalog.pendingUploadIDs() == [mine.id, theirs.id])
        let now = Timestamp.now
        _ = try catalog.heartbeat(NodeSession(id: "elsewhere:1:1", host: "elsewhere", pid: 1, mountpoint: "/lake", startedAt: now, heartbeatAt: now),
                                  staleBefore: now.adding(seconds: -30))
        #expect(try catalog.pendingUploadIDs() == [mine.id])
        // Its session gone silent for longer than the stale limit: another heartbeat removes it.
        let later = now.adding(seconds: 60)
        let gone = try catalog.heartbeat(NodeSession(id: "here:2:2", host: SQLiteCatalog.host, pid: 2, mountpoint: "/lake", startedAt: later,
                                                     heartbeatAt: later), staleBefore: later.adding(seconds: -30))
        #expect(gone.map(\.id) == ["elsewhere:1:1"])
        #expect(try catalog.nodeSessions().map(\.id) == ["here:2:2"])
        #expect(try catalog.pendingUploadIDs() == [mine.id, theirs.id])
    }

    /// gc removes blobs while it holds the write lock: another machine's writer (a separate
    /// connection asking for the same lock) waits until it is done.
    @Test func gcRemovesBlobsHoldingTheWriteLock() throws {
        let catalog = try open(.postgres)
        let object = draft("gone.stl")
        try catalog.createPendingObject(object)
        try catalog.completeUpload(object.id, blob: blob("9"), at: .now)
        _ = try catalog.trashObjects([object.id], at: .now)
        _ = try catalog.purgeObjects([object.id], at: .now)
        let other = try PostgresConnection(try postgres.url)
        var blocked: PostgresError?
        let removed = try catalog.removeUnreferencedBlobs { unreferenced, recorded in
            #expect(unreferenced == [String(repeating: "9", count: 64)] && recorded.isEmpty)
            try other.run("BEGIN", prepare: false)
            try other.run("SET LOCAL lock_timeout = '200ms'", prepare: false)
            do { try other.run("SELECT pg_advisory_xact_lock($1)", [PostgresPool.writeLock]) } catch let error as PostgresError { blocked = error }
            try? other.run("ROLLBACK", prepare: false)
            return unreferenced
        }
        #expect(removed == [String(repeating: "9", count: 64)])
        #expect(blocked?.sqlState == "55P03", "another writer was not kept out: \(String(describing: blocked))")
        // Once gc is done, the lock is free.
        try other.run("BEGIN", prepare: false)
        try other.run("SELECT pg_advisory_xact_lock($1)", [PostgresPool.writeLock])
        try other.run("COMMIT", prepare: false)
    }

    /// On PostgreSQL a filter axis is sized by the planner's estimate: it is read (not the
    /// "unknown" that would make every axis look wide).
    @Test func thePlannersEstimateSizesAFilterAxis() throws {
        let catalog = try open(.postgres)
        try catalog.insertSettledObjects((0..<300).map { draft("e\($0).stl", at: 1_800_000_000_000 + UInt64($0)) })
        try catalog.analyze()
        let all = try catalog.read { db in try SQLiteCatalog.plannedRows(db, "SELECT seq FROM objects WHERE seq > ?", [0]) }
        let few = try catalog.read { db in try SQLiteCatalog.plannedRows(db, "SELECT seq FROM objects WHERE seq > ?", [290]) }
        #expect(all > 250 && all < 400 && few < 50, "estimates \(all) and \(few)")
    }
}
