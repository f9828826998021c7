import CWALBatching
import Foundation
import GRDB
import LakeModel
import LakeTestSupport
import Testing
@testable import LakeCatalog

/// The catalog's log writes are gathered into one write per commit (`Sources/CWALBatching`).
/// What must hold: fewer writes, and nothing else visible — every commit is in the file, whole,
/// for another process the moment it returns, whatever its size and whether or not it was synced.
@Suite struct WALGatheringTests {
    let directory = TemporaryDirectory("wal-gathering")
    var path: String { directory.file("catalog.sqlite") }

    func open() throws -> SQLiteCatalog {
        try SQLiteCatalog(path: path, logger: TestLogger.make(), blobURI: { "file:///blobs/\($0)" })
    }

    func draft(_ name: String, at millis: UInt64) -> LakeObject {
        LakeObject(id: LakeID.make(.object, at: millis), name: name, description: "", file: ObjectFile(name: name, blob: nil),
                   format: .stl, status: .pendingUpload, createdAt: .now, createdBy: "tester")
    }

    /// (writes made, writes SQLite asked for) on the writer's log so far.
    func counts(_ catalog: SQLiteCatalog) throws -> (issued: Int64, requested: Int64) {
        try catalog.pool.writeWithoutTransaction { db in
            var issued: Int64 = 0, requested: Int64 = 0
            let rc = lake_wal_batching_counts(db.sqliteConnection, &issued, &requested)
            #expect(rc == 0, "the catalog's log is not gathered (\(rc))")
            return (issued, requested)
        }
    }

    /// What another process (the sqlite3 shell, which knows nothing of this layer) reads.
    func shell(_ sql: String) throws -> String {
        try Command.output("/usr/bin/env", ["sqlite3", path, sql]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func aCommitReachesTheLogInOneWrite() throws {
        let catalog = try open()
        try catalog.createPendingObject(draft("warm.stl", at: 1_800_000_000_000))
        let before = try counts(catalog)
        for i in 1...20 { try catalog.createPendingObject(draft("f\(i).stl", at: 1_800_000_000_000 + UInt64(i))) }
        let after = try counts(catalog)
        let asked = after.requested - before.requested, made = after.issued - before.issued
        // Each commit writes several pages, each as a header and a page.
        #expect(asked >= 20 * 4, "asked \(asked)")
        #expect(made <= 20, "made \(made) writes for 20 commits of \(asked) asked")
    }

    /// Pending objects are written without a sync (`writeLight`): gathered frames must still be
    /// in the file when the commit returns, or another process would not see them.
    @Test func everyCommitIsVisibleToAnotherProcessAtOnce() throws {
        let catalog = try open()
        for i in 0..<5 {
            let object = draft("seen\(i).stl", at: 1_800_000_100_000 + UInt64(i))
            try catalog.createPendingObject(object)
            #expect(try shell("SELECT COUNT(*) FROM objects WHERE id = '\(object.id.rawValue)'") == "1")
        }
    }

    /// A transaction far larger than one write of the platform's (which takes at most 128 KiB)
    /// and than the gathering limit arrives whole; the database checks as intact.
    @Test func aLargeTransactionArrivesWhole() throws {
        let catalog = try open()
        let (expected, length) = try catalog.pool.write { db -> (String, Int) in
            try db.execute(sql: "CREATE TABLE big(x BLOB)")
            try db.execute(sql: "INSERT INTO big VALUES (randomblob(3000000)), (randomblob(200000)), (zeroblob(131072))")
            return (try String.fetchOne(db, sql: Self.samples) ?? "",
                    try Int.fetchOne(db, sql: "SELECT SUM(length(x)) FROM big") ?? 0)
        }
        #expect(length == 3_331_072)
        #expect(try shell("SELECT SUM(length(x)) FROM big") == "3331072")
        #expect(try shell(Self.samples) == expected)
        #expect(try shell("PRAGMA integrity_check") == "ok")
        // And after the log is copied into the database.
        try catalog.checkpoint(truncating: true)
        #expect(try shell("PRAGMA integrity_check") == "ok")
        #expect(try shell(Self.samples) == expected)
    }

    /// A full disk when the gathered frames are written: the commit fails as a full disk, the
    /// catalog stays intact and takes the same change once there is room again.
    @Test func aFullDiskFailsTheCommitAndLosesNothing() throws {
        guard getuid() == 0 else { return }
        let disk = directory.file("small")
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true)
        #expect(try Command.output("/usr/bin/env", ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", disk]).isEmpty)
        defer { _ = try? Command.output("/usr/bin/env", ["umount", "-l", disk]) }
        let path = disk + "/catalog.sqlite"
        let catalog = try SQLiteCatalog(path: path, logger: TestLogger.make(), blobURI: { "file:///blobs/\($0)" })
        let before = draft("before.stl", at: 1_800_000_200_000)
        try catalog.createPendingObject(before)
        // Fill the disk, leaving less than one commit's frames.
        let filler = disk + "/filler"
        _ = try? Command.output("/usr/bin/env", ["dd", "if=/dev/zero", "of=\(filler)", "bs=4096", "status=none"])
        var big = draft("big.stl", at: 1_800_000_200_001)
        big.description = String(repeating: "d", count: 300_000)
        #expect(throws: CatalogError.self) { try catalog.createPendingObject(big) }
        try FileManager.default.removeItem(atPath: filler)
        try catalog.createPendingObject(big)
        #expect(try catalog.object(big.id)?.description.count == 300_000)
        #expect(try catalog.object(before.id)?.name == "before.stl")
        let check = try Command.output("/usr/bin/env", ["sqlite3", path, "PRAGMA integrity_check; SELECT COUNT(*) FROM objects"])
        #expect(check == "ok\n2\n", "\(check)")
    }

    /// Pieces of the large value from every part of it (the log reaches the file in pieces).
    static let samples = "SELECT group_concat(hex(substr(x, p, 48)), '-') FROM big, "
        + "(SELECT 1 AS p UNION SELECT 126000 UNION SELECT 1000000 UNION SELECT 2100000 UNION SELECT 2999950) WHERE big.rowid = 1"
}
