import CWALBatching
import Foundation
import GRDB
import LakeModel
import Logging

/// The embedded catalog: one SQLite file in WAL mode, shared safely by several processes
/// (busy timeout, IMMEDIATE write transactions). Writes are durable when they return
/// (synchronous=FULL: the WAL is synced at commit), except the `writeLight` ones, whose loss in a
/// power failure is harmless (a pending upload's row, a processing lease, derived state): the
/// WAL is append-only, so the next durable commit makes every light one before it durable too.
public final class SQLiteCatalog: Catalog {
    /// Where the transactions run: the embedded SQLite file, or a PostgreSQL server shared by
    /// many machines (`init(postgres:)`). The catalog's statements are the same on both.
    enum Engine: Sendable {
        case sqlite(DatabasePool)
        case postgres(PostgresPool)
    }

    let engine: Engine

    /// The SQLite file's connections (what only SQLite has: its checkpoints, its pragmas).
    var pool: DatabasePool {
        guard case .sqlite(let pool) = engine else { preconditionFailure("the catalog is not SQLite") }
        return pool
    }
    let logger: Logger
    /// Who this process acts for, in the audit trail, unless a change names another account.
    let actor: Actor
    let blobURI: @Sendable (String) -> String
    /// A filter axis admitting at most this many objects drives the search (see `objects(matching:)`).
    let smallArm: Int

    /// Opens (creating when missing) the catalog at `path`, applying the migrations this build
    /// knows and the file lacks. A catalog written by a newer build is refused unchanged.
    public convenience init(path: String, logger: Logger, blobURI: @escaping @Sendable (String) -> String, smallArm: Int = 50_000,
                            actor: Actor? = nil) throws {
        _ = Self.walGathering
        var configuration = Configuration()
        configuration.busyMode = .timeout(30)
        configuration.prepareDatabase { db in
            try db.run(sql: "PRAGMA synchronous = FULL")
            // Debian's SQLite zeroes every freed page (SQLITE_SECURE_DELETE): forgetting a small
            // blob's bytes (`unsettled_blobs`) would write all of them to the log again.
            try db.run(sql: "PRAGMA secure_delete = OFF")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            let migrator = Migrations.migrator
            let (superseded, applied) = try pool.read { db in
                (try migrator.hasBeenSuperseded(db), try migrator.appliedIdentifiers(db))
            }
            if superseded {
                let known = Set(migrator.migrations)
                throw CatalogError.newerSchema(unknownMigrations: applied.filter { !known.contains($0) }.sorted())
            }
            try migrator.migrate(pool)
            // GRDB sets synchronous=NORMAL on a pool's writer after prepareDatabase runs: commits
            // would then reach the disk only at the next checkpoint, and a power failure could
            // lose an upload whose close() had returned 0.
            try pool.writeWithoutTransaction { db in try db.run(sql: "PRAGMA synchronous = FULL") }
        } catch {
            throw Self.wrap(error)
        }
        self.init(engine: .sqlite(pool), logger: logger, blobURI: blobURI, smallArm: smallArm, actor: actor)
    }

    init(engine: Engine, logger: Logger, blobURI: @escaping @Sendable (String) -> String, smallArm: Int, actor: Actor?) {
        self.engine = engine
        self.logger = logger
        self.blobURI = blobURI
        self.smallArm = smallArm
        self.actor = actor ?? Actor(uid: getuid(), user: "uid:\(getuid())")
    }

    /// The process's connections write a commit's log frames in one call instead of two per page
    /// (`Sources/CWALBatching`): registered once, before the first connection opens.
    static let walGathering: Int32 = lake_wal_batching_register()

    /// Applied migration names, oldest first.
    public func appliedMigrations() throws -> [String] {
        switch engine {
        case .sqlite(let pool):
            do { return try pool.read { db in try Migrations.migrator.completedMigrations(db) } } catch { throw Self.wrap(error) }
        case .postgres(let pool):
            return try pool.read { db in try db.values(sql: "SELECT name FROM lake_migrations ORDER BY applied_order") }
        }
    }

    static func wrap(_ error: any Error) -> any Error {
        if error is CatalogError { return error }
        if let db = error as? DatabaseError {
            if db.resultCode == .SQLITE_FULL { return CatalogError.noSpace(db.message ?? "database full") }
            return CatalogError.database(db.message ?? "\(db)")
        }
        return error
    }

    func read<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        switch engine {
        case .sqlite(let pool):
            do { return try pool.read { db in try body(GRDBConnection(db)) } } catch { throw Self.wrap(error) }
        case .postgres(let pool):
            return try pool.read(body)
        }
    }

    /// A transaction on disk when this returns.
    func write<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        try write(durable: true, body)
    }

    /// A transaction that survives the crash of any process, but not always of the machine.
    func writeLight<T>(_ body: (any SQLDatabase) throws -> T) throws -> T {
        try write(durable: false, body)
    }

    private func write<T>(durable: Bool, _ body: (any SQLDatabase) throws -> T) throws -> T {
        let pool: DatabasePool
        switch engine {
        case .sqlite(let sqlite): pool = sqlite
        case .postgres(let postgres): return try postgres.write(body)
        }
        do {
            return try pool.writeWithoutTransaction { db in
                if !durable { try db.run(sql: "PRAGMA synchronous = NORMAL") }
                defer { if !durable { try? db.run(sql: "PRAGMA synchronous = FULL") } }
                // BEGIN and COMMIT as statements compiled once per connection: GRDB's
                // `inTransaction` compiles both anew each time, about a tenth of what storing a
                // small file through incoming/ costs the daemon outside its sync.
                try db.run(sql: "BEGIN IMMEDIATE TRANSACTION")
                do {
                    let result = try body(GRDBConnection(db))
                    try db.run(sql: "COMMIT TRANSACTION")
                    return result
                } catch {
                    if db.isInsideTransaction { try? db.run(sql: "ROLLBACK TRANSACTION") }
                    throw error
                }
            }
        } catch {
            throw Self.wrap(error)
        }
    }

    /// Every change bumps the change sequence; the entity id says what to invalidate.
    func recordChange(_ db: any SQLDatabase, _ id: LakeID, at time: Timestamp) throws {
        try db.run(sql: "INSERT INTO changes (entity_id, at) VALUES (?, ?)", arguments: [id.rawValue, time.microseconds])
        // Every machine's watchers wake at the commit (PostgreSQL sends a notification once per
        // transaction however many changes it holds, and none if it rolls back).
        if db.dialect == .postgres { try db.run(sql: "SELECT pg_notify('lake_changes', '')") }
    }

    func fetchObjects(_ db: any SQLDatabase, where clause: String, _ arguments: SQLArguments) throws -> [LakeObject] {
        try ObjectRow.fetch(db, where: clause, arguments: arguments, blobURI: blobURI)
    }

    // MARK: objects

    public func createPendingObject(_ object: LakeObject) throws {
        try writeLight { db in try insertPendingObject(db, object) }
    }

    /// Inserts a new object waiting for its bytes, or, with `stored`, one whose bytes are
    /// stored in the same transaction (UPLOADED at once: an upload's commit then writes each
    /// index entry once instead of inserting and moving it).
    func insertPendingObject(_ db: any SQLDatabase, _ object: LakeObject, stored: (blob: String, at: Timestamp)? = nil) throws {
        do {
            // The new row's seq comes back with the INSERT (one round trip, not two, on PostgreSQL).
            let inserted = try db.value(Int64.self, sql: """
                INSERT INTO objects (id, name, description, file_name, format, status, tags, annotations, warnings,
                                     geometry_units, created_at, created_by, owner_uid, owner_gid, mode, blob_id, uploaded_at, upload_host)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq
                """, arguments: [object.id.rawValue, object.name, object.description, object.file.name,
                                 object.format.rawValue, stored == nil ? "PENDING_UPLOAD" : "UPLOADED",
                                 ObjectRow.json(object.tags), ObjectRow.json(object.annotations),
                                 ObjectRow.json(object.warnings), object.geometryUnits, object.createdAt.microseconds,
                                 object.createdBy, Int64(object.owner.uid), Int64(object.owner.gid), Int64(object.owner.mode),
                                 stored?.blob, stored?.at.microseconds, Self.host])
            guard let seq = inserted else { throw CatalogError.database("an inserted object gave no seq") }
            for (key, param) in object.params {
                try insertParam(db, object.id, key, param)
            }
            for (position, reference) in object.contentReferences.enumerated() {
                try db.run(sql: "INSERT INTO object_refs (object_id, position, path, child_id) VALUES (?, ?, ?, ?)",
                               arguments: [object.id.rawValue, position, reference.path, reference.objectId?.rawValue])
            }
            // A new object has no index rows yet, and no provisions until processed.
            try FilterIndex.insert(db, seq: seq, tags: object.tags, provisions: [])
            try recordChange(db, object.id, at: stored?.at ?? object.createdAt)
        }
    }

    func insertParam(_ db: any SQLDatabase, _ id: LakeID, _ key: String, _ param: Param) throws {
        var number: Double?, text: String?, flag: Bool?
        switch param.value {
        case .number(let n): number = n
        case .string(let s): text = s
        case .bool(let b): flag = b
        case .vector: break
        }
        try db.run(sql: """
            INSERT INTO object_params (object_id, key, value, units, num_value, str_value, bool_value, object_seq)
            VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT seq FROM objects WHERE id = ?))
            """, arguments: [id.rawValue, key, param.value.json.compactText, param.units, number, text, flag, id.rawValue])
    }

    public func completeUpload(_ id: LakeID, blob: BlobRecord, at time: Timestamp, links: ManifestLinks?, receipt: Receipt?,
                               creating draft: LakeObject?, unsettled: [UInt8]?, unsynced: Bool) throws {
        try write { db in
            // The blob row first: the object's row refers to it.
            try db.run(sql: "INSERT INTO blobs (id, size, md5, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       arguments: [blob.id, blob.size, blob.md5, time.microseconds])
            if let draft { try insertPendingObject(db, draft, stored: links == nil ? (blob.id, time) : nil) }
            if let receipt { try storeReceipt(db, receipt) }
            if let unsettled {
                try db.run(sql: "INSERT INTO unsettled_blobs (blob_id, bytes) VALUES (?, ?)", arguments: [blob.id, Data(unsettled)])
            }
            if unsynced {
                try db.run(sql: "INSERT INTO unsynced_blobs (blob_id, object_id) VALUES (?, ?)", arguments: [blob.id, id.rawValue])
            }
            if let links {
                for (position, reference) in links.references.enumerated() {
                    try db.run(sql: """
                        INSERT INTO object_refs (object_id, position, path, child_id) VALUES (?, ?, ?, ?)
                        ON CONFLICT (object_id, path) DO UPDATE SET position = excluded.position, child_id = excluded.child_id
                        """,
                                   arguments: [id.rawValue, position, reference.path, reference.objectId?.rawValue])
                }
                let recorded = try db.fetchValue(String.self, sql: "SELECT warnings FROM objects WHERE id = ?", arguments: [id.rawValue])
                let warnings = try recorded.map { try ObjectRow.decode([String].self, $0) } ?? []
                try db.run(sql: "UPDATE objects SET warnings = ?, refs_wait_until = ? WHERE id = ?",
                               arguments: [ObjectRow.json(warnings + links.warnings), links.waitUntil?.microseconds, id.rawValue])
            }
            let maker: (name: String, uid: UInt32?, user: String?)
            if let draft, links == nil {
                maker = (draft.name, draft.owner.uid, draft.createdBy)
            } else {
                try db.run(sql: """
                    UPDATE objects SET blob_id = ?, status = 'UPLOADED', uploaded_at = ?
                    WHERE id = ? AND status = 'PENDING_UPLOAD'
                    """, arguments: [blob.id, time.microseconds, id.rawValue])
                guard db.changesCount == 1 else {
                    throw CatalogError.refused("object \(id) is no longer waiting for its upload (it was reaped as interrupted)")
                }
                try recordChange(db, id, at: time)
                let made = try db.row(sql: "SELECT name, owner_uid, created_by FROM objects WHERE id = ?", arguments: [id.rawValue])
                maker = (made?["name"] ?? "", (made?["owner_uid"] as Int64?).map { UInt32(truncatingIfNeeded: $0) }, made?["created_by"])
            }
            // Made by its owner: the writer of a file in incoming/, or the caller of lake upload.
            try audit(db, "object.create", id, ["name": .string(maker.name), "bytes": .number(Double(blob.size)), "blob": .string(blob.id)],
                      by: Actor(uid: maker.uid ?? actor.uid, user: maker.user ?? actor.user), at: time)
        }
    }

    public func attachBlock(_ child: LakeID, to manifest: LakeID, paths: [String], at time: Timestamp) throws -> Bool {
        guard !paths.isEmpty else { return false }
        return try write { db in
            try db.execute(sql: """
                UPDATE object_refs SET child_id = ?
                WHERE object_id = ? AND child_id IS NULL AND path IN (\(sqlMarks(paths.count)))
                  AND EXISTS (SELECT 1 FROM objects WHERE id = ? AND status = 'UPLOADED')
                """, arguments: [child.rawValue, manifest.rawValue] + SQLArguments(paths) + [manifest.rawValue])
            guard db.changesCount > 0 else { return false }
            try recordChange(db, manifest, at: time)
            return true
        }
    }

    public func renamePendingObject(_ id: LakeID, fileName: String, format: FileFormat) throws {
        try write { db in
            try db.run(sql: """
                UPDATE objects SET name = ?, file_name = ?, format = ? WHERE id = ? AND status = 'PENDING_UPLOAD'
                """, arguments: [fileName, fileName, format.rawValue, id.rawValue])
            try recordChange(db, id, at: .now)
        }
    }

    public func recordMD5(_ md5: String, forBlob id: String) throws {
        try writeLight { db in
            try db.run(sql: "UPDATE blobs SET md5 = ? WHERE id = ? AND md5 IS NULL", arguments: [md5, id])
        }
    }

    public func deletePendingObject(_ id: LakeID) throws -> Bool {
        try write { db in
            try db.run(sql: "DELETE FROM objects WHERE id = ? AND status = 'PENDING_UPLOAD'", arguments: [id.rawValue])
            let deleted = db.changesCount == 1
            if deleted { try recordChange(db, id, at: .now) }
            return deleted
        }
    }

    public func object(_ id: LakeID) throws -> LakeObject? {
        try read { db in try ObjectRow.fetch(db, id: id.rawValue, blobURI: blobURI) }
    }

    public func storedObject(_ id: LakeID) throws -> StoredObject? {
        try read { db in try ObjectRow.fetchStored(db, id: id.rawValue, blobURI: blobURI) }
    }

    public func objects(limit: Int, after cursor: LakeID?) throws -> [LakeObject] {
        try read { db in
            let (clause, arguments) = Self.newestFirst(after: cursor, limit: limit)
            return try fetchObjects(db, where: clause, arguments)
        }
    }

    public func storedObjects(matching filter: ObjectFilter?, limit: Int, after cursor: LakeID?) throws -> [StoredObject] {
        try read { db in
            let (clause, arguments): (String, SQLArguments)
            if let filter {
                let page = try objectPage(db, matching: filter, limit: limit, after: cursor)
                guard !page.isEmpty else { return [] }
                (clause, arguments) = ("seq IN (\(sqlMarks(page.count))) ORDER BY seq DESC", SQLArguments(page))
            } else {
                (clause, arguments) = Self.newestFirst(after: cursor, limit: limit)
            }
            return try ObjectRow.fetchStored(db, where: clause, arguments: arguments, blobURI: blobURI)
        }
    }

    /// The objects outside the trash, newest first, after the cursor.
    private static func newestFirst(after cursor: LakeID?, limit: Int) -> (String, SQLArguments) {
        guard let cursor else { return ("trashed_at IS NULL ORDER BY seq DESC LIMIT ?", [limit]) }
        return ("seq < (SELECT seq FROM objects WHERE id = ?) AND trashed_at IS NULL ORDER BY seq DESC LIMIT ?", [cursor.rawValue, limit])
    }

    /// The pending uploads this machine may judge: its own (it can see whether their writers
    /// live), those from before uploads named their machine, and another machine's once a day
    /// old while no mount daemon of that machine is alive (a machine that is gone for good). A
    /// node starting its daemon while another uploads a large file must not take that upload
    /// for an interrupted one.
    public func pendingUploadIDs() throws -> [LakeID] {
        try read { db in
            try db.fetchValues(String.self, sql: """
                SELECT id FROM objects WHERE status = 'PENDING_UPLOAD'
                AND (upload_host IS NULL OR upload_host = ?
                     OR (created_at < ? AND NOT EXISTS (SELECT 1 FROM node_sessions n WHERE n.host = objects.upload_host)))
                ORDER BY seq
                """, arguments: [Self.host, Timestamp.now.adding(seconds: -Self.foreignUploadGrace).microseconds])
                .map(LakeID.init(unchecked:))
        }
    }

    /// How long another machine's pending upload is left alone when no daemon of it is alive.
    static let foreignUploadGrace = 86_400.0

    /// This machine's name, as its pending uploads and its mount daemons' sessions record it.
    /// (gethostname, not Foundation's hostName, which may ask DNS for the canonical name.)
    public static let host: String = {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    static func kindName(_ id: LakeID) -> String {
        switch id.kind {
        case .case?: "case"
        case .dataset?: "dataset"
        default: "object"
        }
    }

    public func usage(uid: UInt32) throws -> (objects: Int64, bytes: Int64) {
        try read { db in
            let row = try db.fetchOne(sql: """
                SELECT COUNT(*) AS objects, COALESCE(SUM(b.size), 0) AS bytes
                FROM objects o LEFT JOIN blobs b ON b.id = o.blob_id WHERE COALESCE(o.owner_uid, 0) = ?
                """, arguments: [Int64(uid)])
            return (row?["objects"] ?? 0, row?["bytes"] ?? 0)
        }
    }

    public func usageByOwner() throws -> [UInt32: (objects: Int64, bytes: Int64)] {
        try read { db in
            var result: [UInt32: (objects: Int64, bytes: Int64)] = [:]
            for row in try db.fetchAll(sql: """
                SELECT COALESCE(o.owner_uid, 0) AS uid, COUNT(*) AS objects, COALESCE(SUM(b.size), 0) AS bytes
                FROM objects o LEFT JOIN blobs b ON b.id = o.blob_id GROUP BY 1
                """) {
                result[UInt32(truncatingIfNeeded: row["uid"] as Int64)] = (row["objects"], row["bytes"])
            }
            return result
        }
    }

    public func changeAccess(_ id: LakeID, mode: UInt32?, gid: UInt32?, by actor: Actor?, at time: Timestamp) throws -> Ownership {
        let table: String
        switch id.kind {
        case .object?: table = "objects"
        case .case?: table = "cases"
        case .dataset?: table = "datasets"
        case nil: throw CatalogError.notFound(id)
        }
        return try write { db in
            guard let row = try db.fetchOne(sql: "SELECT owner_uid, owner_gid, mode FROM \(table) WHERE id = ?", arguments: [id.rawValue]) else {
                throw CatalogError.notFound(id)
            }
            var owner = ObjectRow.ownership(row)
            if let mode { owner.mode = mode & 0o777 }
            if let gid { owner.gid = gid }
            try db.execute(sql: "UPDATE \(table) SET owner_uid = ?, owner_gid = ?, mode = ? WHERE id = ?",
                           arguments: [Int64(owner.uid), Int64(owner.gid), Int64(owner.mode), id.rawValue])
            try recordChange(db, id, at: time)
            var details: [String: JSONValue] = [:]
            if mode != nil { details["mode"] = .string(owner.octal) }
            if gid != nil { details["gid"] = .number(Double(owner.gid)) }
            try audit(db, "\(Self.kindName(id)).chmod", id, details, by: actor, at: time)
            return owner
        }
    }

    /// Geometry units, set once: the warning that they were missing goes, and the geometry
    /// provisions take them.
    static func setGeometryUnits(_ object: inout LakeObject, _ units: String) throws {
        if let existing = object.geometryUnits, existing != units {
            throw CatalogError.refused("object \(object.id) already has geometry units '\(existing)'; they are set once and never change")
        }
        object.geometryUnits = units
        object.warnings.removeAll { $0.hasPrefix(GeometryUnits.missingWarningStart) }
        object.provisions = object.provisions.map { provision in
            guard case .geometry(var geometry) = provision else { return provision }
            geometry.units = units
            return .geometry(geometry)
        }
    }

    public func updateObject(_ id: LakeID, _ update: ObjectUpdate, at time: Timestamp) throws -> LakeObject {
        try write { db in
            guard var object = try ObjectRow.fetch(db, id: id.rawValue, blobURI: blobURI) else {
                throw CatalogError.notFound(id)
            }
            try Self.refuseTrashed(object)
            if let name = update.name { object.name = name }
            if let description = update.description { object.description = description }
            if let tags = update.tags { object.tags = tags }
            if let units = update.geometryUnits { try Self.setGeometryUnits(&object, units) }
            try db.run(sql: """
                UPDATE objects SET name = ?, description = ?, tags = ?, geometry_units = ?, provisions = ?, warnings = ? WHERE id = ?
                """, arguments: [object.name, object.description, ObjectRow.json(object.tags), object.geometryUnits,
                                 ObjectRow.json(object.provisions), ObjectRow.json(object.warnings), id.rawValue])
            try FilterIndex.refresh(db, objectID: id.rawValue)
            try recordChange(db, id, at: time)
            var changed: [String: JSONValue] = [:]
            if let name = update.name { changed["name"] = .string(name) }
            if let description = update.description { changed["description"] = .string(description) }
            if let tags = update.tags { changed["tags"] = .object(tags) }
            if let units = update.geometryUnits { changed["geometry_units"] = .string(units) }
            try audit(db, "object.update", id, changed, at: time)
            return object
        }
    }

    public func annotateObject(_ id: LakeID, at time: Timestamp,
                               _ change: (LakeObject) throws -> (annotations: [FieldAnnotation], provisions: [Provision], warnings: [String])) throws -> LakeObject {
        try write { db in
            guard var object = try ObjectRow.fetch(db, id: id.rawValue, blobURI: blobURI) else {
                throw CatalogError.notFound(id)
            }
            try Self.refuseTrashed(object)
            guard object.status == .ready else {
                throw CatalogError.refused("object \(id) is \(object.status.rawValue); fields can be annotated once it is READY")
            }
            let (annotations, provisions, warnings) = try change(object)
            object.annotations = annotations
            object.provisions = provisions
            object.warnings = warnings
            try db.run(sql: "UPDATE objects SET annotations = ?, provisions = ?, warnings = ? WHERE id = ?",
                           arguments: [ObjectRow.json(annotations), ObjectRow.json(provisions), ObjectRow.json(warnings), id.rawValue])
            try FilterIndex.refresh(db, objectID: id.rawValue)
            try recordChange(db, id, at: time)
            try audit(db, "object.annotate", id, ["annotations": .array(annotations.map { .string("\($0.label):\($0.elementAssoc.rawValue)=\($0.quantityType)") })],
                      at: time)
            return object
        }
    }

    // MARK: processing queue

    /// What a worker may claim; the lists are JSON arrays so the statements never vary and are
    /// compiled once per connection (a claim per small file made compiling a large share of
    /// processing's cost).
    static func claimable(_ dialect: SQLDialect) -> String {
        // A JSON array's elements as rows: SQLite's json_each, PostgreSQL's json_array_elements_text.
        let elements = { (parameter: String) in
            dialect == .sqlite ? "SELECT value FROM json_each(\(parameter))" : "SELECT json_array_elements_text(CAST(\(parameter) AS json))"
        }
        return """
            format IN (\(elements("?1"))) AND trashed_at IS NULL
            AND (CAST(?2 AS TEXT) IS NULL OR id IN (\(elements("?2"))))
            AND NOT EXISTS (SELECT 1 FROM object_refs r JOIN objects c ON c.id = r.child_id
                            WHERE r.object_id = objects.id AND c.status NOT IN ('READY', 'FAILED'))
            AND (refs_wait_until IS NULL OR refs_wait_until < ?3
                 OR NOT EXISTS (SELECT 1 FROM object_refs w WHERE w.object_id = objects.id AND w.child_id IS NULL))
            """
    }
    // Two walks of the (status, seq) index that stop at their first match, instead of one
    // query whose OR sorted the whole queue at every claim.
    static func oldestUploaded(_ dialect: SQLDialect) -> String {
        "SELECT id, seq FROM objects WHERE status = 'UPLOADED' AND \(claimable(dialect)) ORDER BY seq LIMIT 1"
    }
    static func oldestExpired(_ dialect: SQLDialect) -> String {
        "SELECT id, seq FROM objects WHERE status = 'PROCESSING' AND lease_expires_at < ?3 AND \(claimable(dialect)) ORDER BY seq LIMIT 1"
    }
    static let claims: [SQLDialect: [String]] = [.sqlite: [oldestUploaded(.sqlite), oldestExpired(.sqlite)],
                                                  .postgres: [oldestUploaded(.postgres), oldestExpired(.postgres)]]

    public func claimForProcessing(formats: Set<FileFormat>, among: ClaimScope?, owner: String, leaseSeconds: Double,
                                   maxAttempts: Int, now: Timestamp) throws -> ProcessingClaim? {
        guard !formats.isEmpty else { return nil }
        if let among, among.ids.isEmpty { return nil }
        return try writeLight { db in
            let exhausted = try db.values(String.self, sql: """
                UPDATE objects SET status = 'FAILED', processed_at = ?, lease_owner = NULL, lease_expires_at = NULL,
                    failure_reason = 'processing was interrupted ' || attempts || ' times (the worker was killed or crashed each time); the file may be too large or hostile for this machine'
                WHERE status = 'PROCESSING' AND lease_expires_at < ? AND attempts >= ?
                RETURNING id
                """, arguments: [now.microseconds, now.microseconds, maxAttempts]).map(LakeID.init(unchecked:))
            for id in exhausted {
                logger.warning("processing gave up", metadata: ["object": "\(id)"])
                try recordChange(db, id, at: now)
                try CaseRules.settleCases(db, containing: id, at: now, blobURI: blobURI)
            }
            // A manifest waits until every child it references has finished processing.
            let arguments: SQLArguments = [ObjectRow.json(formats.map(\.rawValue).sorted()),
                                                 among?.json, now.microseconds]
            let candidates = try Self.claims[db.dialect]!.compactMap { sql in
                try db.row(sql: sql, arguments: arguments)
            }
            guard let oldest = candidates.min(by: { ($0["seq"] as Int64) < ($1["seq"] as Int64) }) else { return nil }
            let id: String = oldest["id"]
            try db.run(sql: """
                UPDATE objects SET status = 'PROCESSING', attempts = attempts + 1, lease_owner = ?, lease_expires_at = ?
                WHERE id = ?
                """, arguments: [owner, now.adding(seconds: leaseSeconds).microseconds, id])
            try recordChange(db, LakeID(unchecked: id), at: now)
            guard let object = try ObjectRow.fetch(db, id: id, blobURI: blobURI) else { return nil }
            let attempt = try db.value(Int.self, sql: "SELECT attempts FROM objects WHERE id = ?", arguments: [id]) ?? 1
            return ProcessingClaim(object: object, attempt: attempt, exhausted: exhausted)
        }
    }

    public func queuedObjects() throws -> [QueuedObject] {
        try read { db in
            try db.fetchAll(sql: """
                SELECT id, status, lease_owner, lease_expires_at,
                       CASE WHEN EXISTS (SELECT 1 FROM object_refs w WHERE w.object_id = objects.id AND w.child_id IS NULL)
                            THEN refs_wait_until END AS awaited_until,
                       (SELECT COUNT(*) FROM object_refs r JOIN objects c ON c.id = r.child_id
                        WHERE r.object_id = objects.id AND c.status NOT IN ('READY', 'FAILED')) AS unsettled
                FROM objects WHERE status IN ('UPLOADED', 'PROCESSING') AND trashed_at IS NULL ORDER BY seq
                """).map { row in
                QueuedObject(id: LakeID(unchecked: row["id"]), status: ObjectStatus(rawValue: row["status"]) ?? .uploaded,
                             leaseOwner: row["lease_owner"],
                             leaseExpiresAt: (row["lease_expires_at"] as Int64?).map(Timestamp.init(microseconds:)),
                             blocksAwaitedUntil: (row["awaited_until"] as Int64?).map(Timestamp.init(microseconds:)),
                             unsettledChildren: row["unsettled"])
            }
        }
    }

    public func renewLease(_ id: LakeID, owner: String, leaseSeconds: Double, now: Timestamp) throws -> Bool {
        try writeLight { db in
            try db.run(sql: """
                UPDATE objects SET lease_expires_at = ? WHERE id = ? AND status = 'PROCESSING' AND lease_owner = ?
                """, arguments: [now.adding(seconds: leaseSeconds).microseconds, id.rawValue, owner])
            return db.changesCount == 1
        }
    }

    public func finishProcessing(_ id: LakeID, owner: String, outcome: ProcessingOutcome, at time: Timestamp) throws -> Bool {
        try finishProcessing(id, owner: owner, outcome: outcome, md5: nil, at: time)
    }

    public func finishProcessing(_ id: LakeID, owner: String, outcome: ProcessingOutcome, md5: (blob: String, digest: String)?,
                                 at time: Timestamp) throws -> Bool {
        try writeLight { db in
            if let md5 {
                try db.run(sql: "UPDATE blobs SET md5 = ? WHERE id = ? AND md5 IS NULL", arguments: [md5.digest, md5.blob])
            }
            switch outcome {
            case .ready(let provisions, let warnings, let mesh):
                try db.run(sql: """
                    UPDATE objects SET status = 'READY', failure_reason = NULL, provisions = ?, warnings = ?, mesh = ?,
                        processed_at = ?, lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND status = 'PROCESSING' AND lease_owner = ?
                    """, arguments: [provisions.json, ObjectRow.json(warnings), mesh.map { ObjectRow.json($0) },
                                     time.microseconds, id.rawValue, owner])
            case .failed(let reason):
                try db.run(sql: """
                    UPDATE objects SET status = 'FAILED', failure_reason = ?, processed_at = ?,
                        lease_owner = NULL, lease_expires_at = NULL
                    WHERE id = ? AND status = 'PROCESSING' AND lease_owner = ?
                    """, arguments: [reason, time.microseconds, id.rawValue, owner])
            }
            guard db.changesCount == 1 else { return false }
            if case .ready(let provisions, _, _) = outcome { try FilterIndex.refresh(db, objectID: id.rawValue, fields: provisions.fields) }
            try recordChange(db, id, at: time)
            // Cases waiting for this object may settle now, in the same transaction.
            try CaseRules.settleCases(db, containing: id, at: time, blobURI: blobURI)
            return true
        }
    }

    // MARK: blobs and maintenance

    public func blobRecords() throws -> [BlobRecord] {
        try read { db in
            try db.fetchAll(sql: "SELECT id, size, md5 FROM blobs ORDER BY id").map {
                BlobRecord(id: $0["id"], size: $0["size"], md5: $0["md5"])
            }
        }
    }

    public func objectIDs(referencingBlob id: String) throws -> [LakeID] {
        try read { db in
            try db.fetchValues(String.self, sql: "SELECT id FROM objects WHERE blob_id = ? ORDER BY seq", arguments: [id])
                .map(LakeID.init(unchecked:))
        }
    }

    public func isBlobRecorded(_ id: String) throws -> Bool {
        try read { db in try db.fetchValue(Bool.self, sql: "SELECT EXISTS (SELECT 1 FROM blobs WHERE id = ?)", arguments: [id]) ?? false }
    }

    static let unreferenced = "NOT EXISTS (SELECT 1 FROM objects WHERE objects.blob_id = blobs.id)"

    public func unreferencedBlobRecords() throws -> [BlobRecord] {
        try read { db in
            try db.fetchAll(sql: "SELECT id, size, md5 FROM blobs WHERE \(Self.unreferenced) ORDER BY id").map {
                BlobRecord(id: $0["id"], size: $0["size"], md5: $0["md5"])
            }
        }
    }

    public func recordBlobDamage(_ blob: String, _ damage: BlobDamage) throws -> Bool {
        try write { db in
            try db.run(sql: """
                INSERT INTO blob_damage (blob_id, found_by, found_at, reason)
                SELECT id, ?, ?, ? FROM blobs WHERE id = ? ON CONFLICT (blob_id) DO NOTHING
                """, arguments: [damage.foundBy, damage.foundAt.microseconds, damage.reason, blob])
            guard db.changesCount == 1 else { return false }
            try touchObjects(db, usingBlob: blob, at: damage.foundAt)
            return true
        }
    }

    public func clearBlobDamage(_ blob: String, at time: Timestamp) throws -> Bool {
        // Light: if a power failure lost it, the blob would only stay refused until checked again.
        try writeLight { db in
            try db.run(sql: "DELETE FROM blob_damage WHERE blob_id = ?", arguments: [blob])
            guard db.changesCount == 1 else { return false }
            try touchObjects(db, usingBlob: blob, at: time)
            return true
        }
    }

    /// Bumps the change sequence for every object that uses `blob`.
    private func touchObjects(_ db: any SQLDatabase, usingBlob blob: String, at time: Timestamp) throws {
        for id in try db.fetchValues(String.self, sql: "SELECT id FROM objects WHERE blob_id = ?", arguments: [blob]) {
            try recordChange(db, LakeID(unchecked: id), at: time)
        }
    }

    public func damagedBlobIDs() throws -> Set<String> {
        try read { db in Set(try db.fetchValues(String.self, sql: "SELECT blob_id FROM blob_damage")) }
    }

    public func markBlobsChecked(_ blobs: [String], at time: Timestamp) throws {
        guard !blobs.isEmpty else { return }
        try writeLight { db in
            for blob in blobs {
                try db.run(sql: "UPDATE blobs SET checked_at = ? WHERE id = ?", arguments: [time.microseconds, blob])
            }
        }
    }

    public func blobsToScrub(checkedBefore before: Timestamp, limit: Int) throws -> [BlobRecord] {
        try read { db in
            // Never-checked blobs first, then the oldest checks: two walks of `blobs_by_checked`
            // in its own order. One query with `checked_at IS NULL OR checked_at < ?` and
            // `ORDER BY checked_at, id` sorted every candidate at every call: with 50,000 blobs
            // unchecked after a copy, the mount's scrubber spent a core on it.
            let conditions = """
                AND NOT EXISTS (SELECT 1 FROM blob_damage WHERE blob_damage.blob_id = blobs.id)
                AND NOT \(Self.unreferenced)
                """
            let record = { (row: SQLRow) in BlobRecord(id: row["id"], size: row["size"], md5: row["md5"]) }
            // (SQLite is told which index to walk; PostgreSQL's planner picks it from the ORDER BY.)
            let blobs = db.dialect == .sqlite ? "blobs INDEXED BY blobs_by_checked" : "blobs"
            let never = try db.fetchAll(sql: """
                SELECT id, size, md5 FROM \(blobs)
                WHERE checked_at IS NULL \(conditions) ORDER BY checked_at LIMIT ?
                """, arguments: [limit]).map(record)
            guard never.count < limit else { return never }
            return never + (try db.fetchAll(sql: """
                SELECT id, size, md5 FROM \(blobs)
                WHERE checked_at < ? \(conditions) ORDER BY checked_at LIMIT ?
                """, arguments: [before.microseconds, limit - never.count]).map(record))
        }
    }

    public func removeUnreferencedBlobs(_ remove: (_ unreferenced: [String], _ recorded: Set<String>) throws -> [String]) throws -> [String] {
        try write { db in
            let unreferenced = try db.fetchValues(String.self, sql: "DELETE FROM blobs WHERE \(Self.unreferenced) RETURNING id")
            let recorded = Set(try db.fetchValues(String.self, sql: "SELECT id FROM blobs"))
            return try remove(unreferenced, recorded)
        }
    }

    public func deleteUnreferencedBlobRecords() throws -> [String] {
        try write { db in
            try db.fetchValues(String.self, sql: "DELETE FROM blobs WHERE \(Self.unreferenced) RETURNING id")
        }
    }

    public func changeSequence() throws -> Int64 {
        try read { db in try db.fetchValue(Int64.self, sql: "SELECT COALESCE(MAX(seq), 0) FROM changes") ?? 0 }
    }

    public func changes(since sequence: Int64) throws -> (latest: Int64, ids: Set<LakeID>) {
        try read { db in
            let rows = try db.fetchAll(sql: "SELECT seq, entity_id FROM changes WHERE seq > ? ORDER BY seq LIMIT 100000",
                                        arguments: [sequence])
            let latest: Int64 = rows.last?["seq"] ?? sequence
            return (latest, Set(rows.map { LakeID(unchecked: $0["entity_id"]) }))
        }
    }

    public func objectSummaries() throws -> [ObjectSummary] {
        try read { db in
            try db.fetchAll(sql: """
                SELECT seq, id, status, created_at, COALESCE(processed_at, uploaded_at, created_at) AS changed_at,
                       owner_uid, owner_gid, mode
                FROM objects WHERE trashed_at IS NULL ORDER BY seq
                """).map { row in
                ObjectSummary(seq: row["seq"], id: LakeID(unchecked: row["id"]),
                              status: ObjectStatus(rawValue: row["status"]) ?? .failed,
                              createdAt: Timestamp(microseconds: row["created_at"]),
                              changedAt: Timestamp(microseconds: row["changed_at"]), owner: ObjectRow.ownership(row))
            }
        }
    }

    public func object(seq: Int64) throws -> LakeObject? {
        try read { db in try ObjectRow.fetch(db, seq: seq, blobURI: blobURI) }
    }

    public func objectOutline(seq: Int64) throws -> ObjectOutline? {
        try read { db in try OutlineRow.fetch(db, seq: seq) }
    }

    public func objectOutlines(ids: [LakeID]) throws -> [(seq: Int64, outline: ObjectOutline)] {
        try read { db in try OutlineRow.fetch(db, ids: ids) }
    }

    public func seq(of id: LakeID) throws -> Int64? {
        try read { db in
            try db.value(Int64.self, sql: "SELECT seq FROM objects WHERE id = ? AND trashed_at IS NULL", arguments: [id.rawValue])
        }
    }

    public func blobTotals() throws -> (count: Int64, bytes: Int64) {
        try read { db in
            let row = try db.fetchOne(sql: "SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes FROM blobs")
            return (row?["n"] ?? 0, row?["bytes"] ?? 0)
        }
    }

    public func statusCounts() throws -> [ObjectStatus: Int] {
        try read { db in
            var counts: [ObjectStatus: Int] = [:]
            for row in try db.fetchAll(sql: "SELECT status, COUNT(*) AS n FROM objects WHERE trashed_at IS NULL GROUP BY status") {
                if let status = ObjectStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }
}
