import Foundation
import LakeModel
import LakePostgres
import Logging

extension SQLiteCatalog {
    /// Opens the catalog in a PostgreSQL database (`postgres://user@host:port/db`; the password
    /// from `PGPASSWORD` or `~/.pgpass`, never from the URL Lake keeps), applying the migrations
    /// this build knows and the database lacks, under the write lock so machines starting at
    /// once apply each once. A database migrated by a newer build is refused unchanged.
    public convenience init(postgres url: String, logger: Logger, blobURI: @escaping @Sendable (String) -> String, smallArm: Int = 50_000,
                            actor: Actor? = nil) throws {
        let pool = PostgresPool(url: url) { [logger] message in logger.warning("\(message)") }
        try pool.write { db in
            try db.run(sql: """
                CREATE TABLE IF NOT EXISTS lake_migrations (
                    name TEXT PRIMARY KEY,
                    applied_order BIGINT GENERATED ALWAYS AS IDENTITY,
                    applied_at BIGINT NOT NULL
                )
                """)
            let applied = Set(try db.values(sql: "SELECT name FROM lake_migrations") as [String])
            let known = Set(PostgresMigrations.all.map(\.name))
            let unknown = applied.subtracting(known)
            if !unknown.isEmpty { throw CatalogError.newerSchema(unknownMigrations: unknown.sorted()) }
            for migration in PostgresMigrations.all where !applied.contains(migration.name) {
                try (db as! PostgresSQLConnection).executeScript(migration.sql)
                if migration.name == "2026-11-22-cases-datasets-filters" { try FilterIndex.rebuildAll(db) }
                try db.run(sql: "INSERT INTO lake_migrations (name, applied_at) VALUES (?, ?)", arguments: [migration.name, Timestamp.now.microseconds])
            }
        }
        self.init(engine: .postgres(pool), logger: logger, blobURI: blobURI, smallArm: smallArm, actor: actor)
    }
}
