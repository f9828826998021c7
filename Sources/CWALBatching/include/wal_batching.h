#ifndef LAKE_WAL_BATCHING_H
#define LAKE_WAL_BATCHING_H

/// Makes a VFS that gathers the writes of a WAL file the default for this process (once; later
/// calls return the first result). Returns SQLITE_OK or SQLite's error code.
int lake_wal_batching_register(void);

struct sqlite3;

/// How many writes SQLite asked for on the WAL file of `db`'s main database, and how many this
/// layer made, since the file was opened (tests check that a commit's frames are gathered).
/// SQLITE_NOTFOUND when that file is not open or not gathered (the VFS was not registered first).
int lake_wal_batching_counts(struct sqlite3 *db, long long *issued, long long *requested);

#endif
