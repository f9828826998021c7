import GRDB

/// The catalog schema, as named migrations applied in order (docs/catalog-schema.md).
/// Never edit a shipped migration: add a new one.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("2026-11-01-objects") { db in
            try db.execute(sql: """
                CREATE TABLE blobs (
                    id TEXT PRIMARY KEY NOT NULL,          -- SHA-256 hex of the bytes
                    size INTEGER NOT NULL,
                    md5 TEXT,                              -- hex; computed by processing
                    created_at INTEGER NOT NULL            -- microseconds since the epoch, UTC
                );
                CREATE TABLE objects (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the mount's inode numbers
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    description TEXT NOT NULL DEFAULT '',
                    file_name TEXT NOT NULL,
                    blob_id TEXT REFERENCES blobs(id),
                    format TEXT NOT NULL,
                    status TEXT NOT NULL,
                    failure_reason TEXT,
                    tags TEXT NOT NULL DEFAULT '{}',        -- JSON object
                    provisions TEXT NOT NULL DEFAULT '[]',  -- JSON array, histograms included
                    annotations TEXT NOT NULL DEFAULT '[]',
                    warnings TEXT NOT NULL DEFAULT '[]',
                    geometry_units TEXT,
                    created_at INTEGER NOT NULL,
                    uploaded_at INTEGER,
                    processed_at INTEGER,
                    created_by TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,    -- processing claims so far
                    lease_owner TEXT,
                    lease_expires_at INTEGER
                );
                CREATE INDEX objects_by_status ON objects(status, seq);
                CREATE INDEX objects_by_blob ON objects(blob_id);
                CREATE TABLE object_params (
                    object_id TEXT NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,                    -- JSON value
                    units TEXT,
                    num_value REAL,                         -- typed copies for indexed filters
                    str_value TEXT,
                    bool_value INTEGER,
                    PRIMARY KEY (object_id, key)
                ) WITHOUT ROWID;
                CREATE TABLE object_refs (
                    object_id TEXT NOT NULL REFERENCES objects(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,              -- order in the manifest
                    path TEXT NOT NULL,                     -- verbatim relative path in the manifest
                    child_id TEXT REFERENCES objects(id),
                    PRIMARY KEY (object_id, path)
                ) WITHOUT ROWID;
                CREATE TABLE changes (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    entity_id TEXT NOT NULL,
                    at INTEGER NOT NULL
                );
                """)
        }
        // A manifest copied into incoming/ may arrive before its blocks: processing waits for
        // references without an object until this time (microseconds), then fails naming them.
        migrator.registerMigration("2026-11-22-manifest-block-wait") { db in
            try db.execute(sql: "ALTER TABLE objects ADD COLUMN refs_wait_until INTEGER")
        }
        // Cases, datasets, and the tables object filters run on (kept in step with objects).
        migrator.registerMigration("2026-11-22-cases-datasets-filters") { db in
            try db.execute(sql: """
                CREATE TABLE object_fields (
                    object_seq INTEGER NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    label TEXT NOT NULL,
                    element_assoc TEXT NOT NULL,
                    quantity_type TEXT,
                    units TEXT,
                    mag_min REAL,
                    mag_max REAL,
                    mag_mean REAL,
                    PRIMARY KEY (object_seq, position)
                ) WITHOUT ROWID;
                CREATE INDEX object_fields_by_max ON object_fields(quantity_type, mag_max);
                CREATE INDEX object_fields_by_min ON object_fields(quantity_type, mag_min);
                CREATE INDEX object_fields_by_mean ON object_fields(quantity_type, mag_mean);
                CREATE TABLE object_tags (
                    object_seq INTEGER NOT NULL REFERENCES objects(seq) ON DELETE CASCADE,
                    path TEXT NOT NULL,                      -- $.key.sub, arrays as []
                    value TEXT NOT NULL,                     -- compact JSON of the leaf
                    PRIMARY KEY (object_seq, path, value)
                ) WITHOUT ROWID;
                CREATE INDEX object_tags_by_leaf ON object_tags(path, value, object_seq);
                ALTER TABLE object_params ADD COLUMN object_seq INTEGER;   -- the object's seq, for filters
                UPDATE object_params SET object_seq = (SELECT seq FROM objects WHERE objects.id = object_params.object_id);
                CREATE INDEX object_params_by_number ON object_params(key, num_value, object_seq);
                CREATE INDEX object_params_by_text ON object_params(key, str_value, object_seq);
                CREATE INDEX object_params_by_flag ON object_params(key, bool_value, object_seq);
                CREATE TABLE cases (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    status TEXT NOT NULL,
                    failure_reason TEXT,
                    params TEXT NOT NULL,                    -- JSON: the union
                    case_params TEXT NOT NULL,               -- JSON: the case's own
                    provisions TEXT NOT NULL DEFAULT '[]',
                    formats TEXT NOT NULL DEFAULT '[]',
                    tags TEXT NOT NULL DEFAULT '{}',
                    created_at INTEGER NOT NULL,
                    created_by TEXT NOT NULL
                );
                CREATE INDEX cases_by_status ON cases(status);
                CREATE TABLE case_members (
                    case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
                    position INTEGER NOT NULL,
                    object_id TEXT NOT NULL REFERENCES objects(id),
                    label TEXT,
                    param_mapping TEXT NOT NULL,
                    field_mapping TEXT NOT NULL,
                    PRIMARY KEY (case_id, position)
                ) WITHOUT ROWID;
                CREATE INDEX case_members_by_object ON case_members(object_id, case_id);
                CREATE TABLE datasets (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    name TEXT NOT NULL,
                    description TEXT NOT NULL DEFAULT '',
                    frozen_at INTEGER,
                    params_schema TEXT,                      -- JSON, recorded at freeze
                    provisions TEXT,
                    formats TEXT,
                    tags TEXT NOT NULL DEFAULT '{}',
                    created_at INTEGER NOT NULL,
                    created_by TEXT NOT NULL
                );
                CREATE TABLE dataset_cases (
                    dataset_id TEXT NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
                    case_id TEXT NOT NULL REFERENCES cases(id),
                    position INTEGER NOT NULL,
                    PRIMARY KEY (dataset_id, case_id)
                ) WITHOUT ROWID;
                CREATE INDEX dataset_cases_by_case ON dataset_cases(case_id);
                """)
            try FilterIndex.rebuildAll(GRDBConnection(db))
        }
        // Blobs found missing or damaged (never served again until verified intact), and when
        // each blob was last re-hashed intact, so the scrubber checks the longest unchecked first.
        migrator.registerMigration("2026-11-30-blob-damage") { db in
            try db.execute(sql: """
                CREATE TABLE blob_damage (
                    blob_id TEXT PRIMARY KEY NOT NULL REFERENCES blobs(id) ON DELETE CASCADE,
                    found_by TEXT NOT NULL,                 -- verify | scrub | open | get | read
                    found_at INTEGER NOT NULL,
                    reason TEXT NOT NULL
                ) WITHOUT ROWID;
                ALTER TABLE blobs ADD COLUMN checked_at INTEGER;
                CREATE INDEX blobs_by_checked ON blobs(checked_at);
                """)
        }
        // The mount's incoming/ entries, so receipts outlive the mount with what was set on them.
        migrator.registerMigration("2026-11-30-receipts") { db in
            try db.execute(sql: """
                CREATE TABLE receipts (
                    node INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: the mount's inode numbers
                    parent INTEGER NOT NULL,                 -- a folder's node; 0 for incoming/ itself
                    name BLOB NOT NULL,                      -- bytes, as the kernel gave them
                    is_folder INTEGER NOT NULL,
                    object_id TEXT REFERENCES objects(id) ON DELETE CASCADE,
                    blob_id TEXT,                            -- set once the upload is stored
                    size INTEGER NOT NULL DEFAULT 0,
                    mode INTEGER NOT NULL,
                    uid INTEGER NOT NULL,
                    gid INTEGER NOT NULL,
                    modified_at INTEGER NOT NULL,            -- nanoseconds since the epoch
                    accessed_at INTEGER NOT NULL,
                    UNIQUE (parent, name)
                );
                CREATE INDEX receipts_by_object ON receipts(object_id);
                """)
        }
        // Small blobs committed without syncing their files (BlobSettling): their bytes, until
        // the mount daemon's settler has synced the files, or a start after a crash restored them.
        migrator.registerMigration("2026-12-01-unsettled-blobs") { db in
            try db.execute(sql: """
                CREATE TABLE unsettled_blobs (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    blob_id TEXT NOT NULL,
                    bytes BLOB NOT NULL
                );
                """)
        }
        // Each object's, case's and dataset's owner and permission bits (issue 14); NULL for
        // those made before: root's, readable by everyone, as they were.
        migrator.registerMigration("2026-12-02-object-ownership") { db in
            try db.execute(sql: """
                ALTER TABLE objects ADD COLUMN owner_uid INTEGER;
                ALTER TABLE objects ADD COLUMN owner_gid INTEGER;
                ALTER TABLE objects ADD COLUMN mode INTEGER;
                ALTER TABLE cases ADD COLUMN owner_uid INTEGER;
                ALTER TABLE cases ADD COLUMN owner_gid INTEGER;
                ALTER TABLE cases ADD COLUMN mode INTEGER;
                ALTER TABLE datasets ADD COLUMN owner_uid INTEGER;
                ALTER TABLE datasets ADD COLUMN owner_gid INTEGER;
                ALTER TABLE datasets ADD COLUMN mode INTEGER;
                """)
        }
        // The audit trail (`lake log`): append-only, enforced by the catalog itself.
        migrator.registerMigration("2026-12-03-audit-log") { db in
            try db.execute(sql: """
                CREATE TABLE audit_log (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    at INTEGER NOT NULL,
                    uid INTEGER NOT NULL,
                    user TEXT NOT NULL,
                    action TEXT NOT NULL,
                    entity_id TEXT,
                    details TEXT NOT NULL
                );
                CREATE INDEX audit_log_by_entity ON audit_log(entity_id, seq);
                CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
                    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
                """)
        }
        // Filters by a field's name (`--provision label=p`) walk this index.
        migrator.registerMigration("2026-12-04-field-labels") { db in
            try db.execute(sql: "CREATE INDEX object_fields_by_label ON object_fields(label)")
        }
        // The trash (`lake object rm`, `lake trash`): a trashed object keeps its row, its blob
        // and its place in nothing else until it is restored or purged.
        migrator.registerMigration("2026-12-05-trash") { db in
            try db.execute(sql: """
                ALTER TABLE objects ADD COLUMN trashed_at INTEGER;
                ALTER TABLE objects ADD COLUMN trashed_by TEXT;
                CREATE INDEX objects_in_trash ON objects(trashed_at) WHERE trashed_at IS NOT NULL;
                """)
        }
        // A VTU's, VTP's or VTM's mesh summary (points, cells, bounds, cell types), and a case's
        // pooled over its members.
        migrator.registerMigration("2026-12-06-mesh-summary") { db in
            try db.execute(sql: """
                ALTER TABLE objects ADD COLUMN mesh TEXT;
                ALTER TABLE cases ADD COLUMN mesh TEXT;
                """)
        }
        // Blobs committed by incoming/ while their files' syncs were still running (BlobSync):
        // a row lives until those syncs have ended. One found at a start means its process died
        // before they did; a blob that did not reach the disk then takes its object with it,
        // since the close that stored it never reported success.
        migrator.registerMigration("2026-12-08-unsynced-blobs") { db in
            try db.execute(sql: """
                CREATE TABLE unsynced_blobs (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    blob_id TEXT NOT NULL,
                    object_id TEXT NOT NULL
                );
                """)
        }
        // Many machines on one catalog (issue 16): the store's identity, shared by every node
        // (a bucket is claimed by it), and the mount daemons alive on each node.
        migrator.registerMigration("2026-12-09-cluster") { db in
            try db.execute(sql: """
                CREATE TABLE store_settings (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                );
                CREATE TABLE node_sessions (
                    id TEXT PRIMARY KEY NOT NULL,
                    host TEXT NOT NULL,
                    pid INTEGER NOT NULL,
                    mountpoint TEXT NOT NULL,
                    started_at INTEGER NOT NULL,
                    heartbeat_at INTEGER NOT NULL
                );
                ALTER TABLE objects ADD COLUMN upload_host TEXT;
                """)
        }
        return migrator
    }
}
