// A VFS over the platform's default one that gathers the writes SQLite makes to a WAL file and
// hands them to the file in one write when a transaction's commit frame is complete.
//
// Why: SQLite writes each WAL frame with two write calls (a 24-byte header, then the page), so a
// commit of 19 pages cost 38 pwrite(2)s, about 150 µs on this machine for a small upload's commit
// — a sixth of the time a `cp` into incoming/ waits per file. One write of the gathered frames
// costs a fraction of that. Nothing else changes: the same bytes reach the same offsets, and every
// commit's frames are in the file before SQLite makes the commit visible to other connections
// (it updates the shared wal-index only after its last xWrite of the commit returns) and before
// any sync. An error writing the gathered frames is returned by the xWrite of the commit frame,
// so the commit fails as it would have with a failed write of its own.
//
// Only files opened with SQLITE_OPEN_WAL are gathered; every other call is passed on unchanged.

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "wal_batching.h"

/// Frames gathered beyond this are written out before more are taken (a large transaction's
/// frames reach the file in pieces of this size instead of two calls per page).
#define GATHER_LIMIT (1 << 20)
/// The platform's xWrite takes at most 128 KiB - 1 bytes (os_unix.c masks the count with 0x1ffff:
/// a larger write silently writes less and then fails as if the disk were full).
#define WRITE_LIMIT (124 << 10)
#define FRAME_HEADER_SIZE 24

typedef struct GatheringFile {
    sqlite3_file base;
    /// The platform's file, in the memory that follows this struct.
    sqlite3_file *real;
    int isWAL;
    unsigned char *buffer;
    int capacity;
    int length;
    /// Where the gathered bytes go in the file (after a flush: where the next ones would).
    sqlite3_int64 start;
    /// Where a new frame's header is expected: right after the last write made (-1: unknown).
    /// Only headers written there are gathered, so the headers SQLite rewrites in place (new
    /// checksums after a page changed twice, a header with no page after it) go straight through.
    sqlite3_int64 nextFrame;
    /// The last bytes gathered are a frame header whose page has not come yet.
    int headerPending;
    /// That header marks a commit: its page completes the transaction's frames.
    int commitPending;
    /// Writes SQLite asked for, and writes made to the file (for tests).
    long long requested, issued;
} GatheringFile;

static sqlite3_vfs *parent;
static sqlite3_vfs gatheringVFS;
static sqlite3_io_methods gatheringMethods;

static int flushGathered(GatheringFile *file) {
    if (file->length == 0) return SQLITE_OK;
    int length = file->length;
    sqlite3_int64 at = file->start;
    file->start += length;
    file->length = 0;
    for (int done = 0; done < length; done += WRITE_LIMIT) {
        int piece = length - done < WRITE_LIMIT ? length - done : WRITE_LIMIT;
        file->issued += 1;
        int rc = file->real->pMethods->xWrite(file->real, file->buffer + done, piece, at + done);
        if (rc != SQLITE_OK) return rc;
    }
    return SQLITE_OK;
}

static int gatherClose(sqlite3_file *f) {
    GatheringFile *file = (GatheringFile *)f;
    int flushed = flushGathered(file);
    int closed = file->real->pMethods->xClose(file->real);
    free(file->buffer);
    file->buffer = NULL;
    return flushed != SQLITE_OK ? flushed : closed;
}

static int gatherRead(sqlite3_file *f, void *out, int amount, sqlite3_int64 offset) {
    GatheringFile *file = (GatheringFile *)f;
    int rc = flushGathered(file);
    if (rc != SQLITE_OK) return rc;
    return file->real->pMethods->xRead(file->real, out, amount, offset);
}

/// Appends to the gathered bytes (written out first when they would pass the limit).
static int gather(GatheringFile *file, const void *bytes, int amount) {
    if (file->length + amount > GATHER_LIMIT) {
        int rc = flushGathered(file);
        if (rc != SQLITE_OK) return rc;
    }
    if (file->length + amount > file->capacity) {
        int capacity = file->capacity ? file->capacity : 256 << 10;
        while (capacity < file->length + amount) capacity *= 2;
        unsigned char *grown = realloc(file->buffer, capacity);
        if (!grown) return SQLITE_NOMEM;
        file->buffer = grown;
        file->capacity = capacity;
    }
    memcpy(file->buffer + file->length, bytes, amount);
    file->length += amount;
    return SQLITE_OK;
}

static int gatherWrite(sqlite3_file *f, const void *bytes, int amount, sqlite3_int64 offset) {
    GatheringFile *file = (GatheringFile *)f;
    if (!file->isWAL) return file->real->pMethods->xWrite(file->real, bytes, amount, offset);
    file->requested += 1;
    sqlite3_int64 end = file->start + file->length;
    int rc;
    if (file->length > 0 && offset >= file->start && offset + amount <= end) {
        // A page of this transaction written again before its frames reached the file.
        memcpy(file->buffer + (offset - file->start), bytes, amount);
        return SQLITE_OK;
    }
    if (file->headerPending && offset == end && amount > FRAME_HEADER_SIZE) {
        // The page of the header just gathered.
        file->headerPending = 0;
        if ((rc = gather(file, bytes, amount)) != SQLITE_OK) return rc;
        file->nextFrame = offset + amount;
        return file->commitPending ? flushGathered(file) : SQLITE_OK;
    }
    if (amount == FRAME_HEADER_SIZE && offset == file->nextFrame && (file->length == 0 || offset == end)) {
        if (file->length == 0) file->start = offset;
        if ((rc = gather(file, bytes, amount)) != SQLITE_OK) return rc;
        // Bytes 4..7 of a frame header: the database's size in pages after a commit, else 0.
        const unsigned char *header = bytes;
        file->commitPending = (header[4] | header[5] | header[6] | header[7]) != 0;
        file->headerPending = 1;
        file->nextFrame = offset + amount;
        return SQLITE_OK;
    }
    // Anything else (the log's own header, a rewritten frame header, a page changed again after
    // its frame reached the file) goes straight through, after what was gathered before it.
    file->headerPending = 0;
    if ((rc = flushGathered(file)) != SQLITE_OK) return rc;
    file->issued += 1;
    rc = file->real->pMethods->xWrite(file->real, bytes, amount, offset);
    file->nextFrame = rc == SQLITE_OK ? offset + amount : -1;
    return rc;
}

static int gatherTruncate(sqlite3_file *f, sqlite3_int64 size) {
    GatheringFile *file = (GatheringFile *)f;
    int rc = flushGathered(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xTruncate(file->real, size);
}

static int gatherSync(sqlite3_file *f, int flags) {
    GatheringFile *file = (GatheringFile *)f;
    int rc = flushGathered(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xSync(file->real, flags);
}

static int gatherFileSize(sqlite3_file *f, sqlite3_int64 *size) {
    GatheringFile *file = (GatheringFile *)f;
    int rc = flushGathered(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xFileSize(file->real, size);
}

static int gatherLock(sqlite3_file *f, int level) {
    GatheringFile *file = (GatheringFile *)f;
    return file->real->pMethods->xLock(file->real, level);
}

static int gatherUnlock(sqlite3_file *f, int level) {
    GatheringFile *file = (GatheringFile *)f;
    return file->real->pMethods->xUnlock(file->real, level);
}

static int gatherCheckReservedLock(sqlite3_file *f, int *out) {
    GatheringFile *file = (GatheringFile *)f;
    return file->real->pMethods->xCheckReservedLock(file->real, out);
}

static int gatherFileControl(sqlite3_file *f, int op, void *arg) {
    GatheringFile *file = (GatheringFile *)f;
    int rc = flushGathered(file);
    if (rc != SQLITE_OK) return rc;
    if (op == SQLITE_FCNTL_VFSNAME) {
        // Names this layer as well as the platform's.
        rc = file->real->pMethods->xFileControl(file->real, op, arg);
        if (rc == SQLITE_OK) {
            char *below = *(char **)arg;
            *(char **)arg = sqlite3_mprintf("%s/%z", gatheringVFS.zName, below);
        }
        return rc;
    }
    return file->real->pMethods->xFileControl(file->real, op, arg);
}

static int gatherSectorSize(sqlite3_file *f) {
    GatheringFile *file = (GatheringFile *)f;
    return file->real->pMethods->xSectorSize(file->real);
}

static int gatherDeviceCharacteristics(sqlite3_file *f) {
    GatheringFile *file = (GatheringFile *)f;
    return file->real->pMethods->xDeviceCharacteristics(file->real);
}

static int gatherShmMap(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
    GatheringFile *file = (GatheringFile *)f;
    return file->real->pMethods->xShmMap(file->real, region, size, extend, out);
}

static int gatherShmLock(sqlite3_file *f, int offset, int n, int flags) {
    GatheringFile *file = (GatheringFile *)f;
    return file->real->pMethods->xShmLock(file->real, offset, n, flags);
}

static void gatherShmBarrier(sqlite3_file *f) {
    GatheringFile *file = (GatheringFile *)f;
    file->real->pMethods->xShmBarrier(file->real);
}

static int gatherShmUnmap(sqlite3_file *f, int deleteFlag) {
    GatheringFile *file = (GatheringFile *)f;
    return file->real->pMethods->xShmUnmap(file->real, deleteFlag);
}

static int gatherFetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
    GatheringFile *file = (GatheringFile *)f;
    int rc = flushGathered(file);
    return rc != SQLITE_OK ? rc : file->real->pMethods->xFetch(file->real, offset, amount, out);
}

static int gatherUnfetch(sqlite3_file *f, sqlite3_int64 offset, void *page) {
    GatheringFile *file = (GatheringFile *)f;
    return file->real->pMethods->xUnfetch(file->real, offset, page);
}

static int gatherOpen(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outFlags) {
    (void)vfs;
    GatheringFile *file = (GatheringFile *)f;
    memset(file, 0, sizeof(*file));
    file->real = (sqlite3_file *)(file + 1);
    file->nextFrame = -1;
    int rc = parent->xOpen(parent, name, file->real, flags, outFlags);
    // The platform's file may need closing even when its open failed (it says so by methods).
    if (file->real->pMethods == NULL) return rc;
    // A platform without shared memory or fetch methods cannot be layered with these.
    if (file->real->pMethods->iVersion < gatheringMethods.iVersion) {
        file->real->pMethods->xClose(file->real);
        return SQLITE_CANTOPEN;
    }
    file->isWAL = (flags & SQLITE_OPEN_WAL) != 0;
    file->base.pMethods = &gatheringMethods;
    return rc;
}

static int forwardDelete(sqlite3_vfs *v, const char *name, int syncDir) { (void)v; return parent->xDelete(parent, name, syncDir); }
static int forwardAccess(sqlite3_vfs *v, const char *name, int flags, int *out) { (void)v; return parent->xAccess(parent, name, flags, out); }
static int forwardFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) { (void)v; return parent->xFullPathname(parent, name, n, out); }
static void *forwardDlOpen(sqlite3_vfs *v, const char *name) { (void)v; return parent->xDlOpen(parent, name); }
static void forwardDlError(sqlite3_vfs *v, int n, char *out) { (void)v; parent->xDlError(parent, n, out); }
static void (*forwardDlSym(sqlite3_vfs *v, void *handle, const char *symbol))(void) { (void)v; return parent->xDlSym(parent, handle, symbol); }
static void forwardDlClose(sqlite3_vfs *v, void *handle) { (void)v; parent->xDlClose(parent, handle); }
static int forwardRandomness(sqlite3_vfs *v, int n, char *out) { (void)v; return parent->xRandomness(parent, n, out); }
static int forwardSleep(sqlite3_vfs *v, int micros) { (void)v; return parent->xSleep(parent, micros); }
static int forwardCurrentTime(sqlite3_vfs *v, double *out) { (void)v; return parent->xCurrentTime(parent, out); }
static int forwardGetLastError(sqlite3_vfs *v, int n, char *out) { (void)v; return parent->xGetLastError ? parent->xGetLastError(parent, n, out) : 0; }
static int forwardCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) { (void)v; return parent->xCurrentTimeInt64(parent, out); }

static int registration = -1;

static void registerOnce(void) {
    parent = sqlite3_vfs_find(NULL);
    if (parent == NULL) { registration = SQLITE_ERROR; return; }
    gatheringMethods = (sqlite3_io_methods){
        .iVersion = 3,
        .xClose = gatherClose, .xRead = gatherRead, .xWrite = gatherWrite, .xTruncate = gatherTruncate,
        .xSync = gatherSync, .xFileSize = gatherFileSize, .xLock = gatherLock, .xUnlock = gatherUnlock,
        .xCheckReservedLock = gatherCheckReservedLock, .xFileControl = gatherFileControl,
        .xSectorSize = gatherSectorSize, .xDeviceCharacteristics = gatherDeviceCharacteristics,
        .xShmMap = gatherShmMap, .xShmLock = gatherShmLock, .xShmBarrier = gatherShmBarrier,
        .xShmUnmap = gatherShmUnmap, .xFetch = gatherFetch, .xUnfetch = gatherUnfetch,
    };
    gatheringVFS = (sqlite3_vfs){
        .iVersion = parent->iVersion < 2 ? parent->iVersion : 2,
        .szOsFile = (int)sizeof(GatheringFile) + parent->szOsFile,
        .mxPathname = parent->mxPathname,
        .zName = "lake-wal-gathering",
        .xOpen = gatherOpen, .xDelete = forwardDelete, .xAccess = forwardAccess,
        .xFullPathname = forwardFullPathname, .xDlOpen = forwardDlOpen, .xDlError = forwardDlError,
        .xDlSym = forwardDlSym, .xDlClose = forwardDlClose, .xRandomness = forwardRandomness,
        .xSleep = forwardSleep, .xCurrentTime = forwardCurrentTime, .xGetLastError = forwardGetLastError,
        .xCurrentTimeInt64 = forwardCurrentTimeInt64,
    };
    registration = sqlite3_vfs_register(&gatheringVFS, 1);
}

int lake_wal_batching_register(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, registerOnce);
    return registration;
}

int lake_wal_batching_counts(struct sqlite3 *db, long long *issued, long long *requested) {
    sqlite3_file *log = NULL;
    int rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &log);
    if (rc != SQLITE_OK) return rc;
    if (log == NULL || log->pMethods != &gatheringMethods) return SQLITE_NOTFOUND;
    GatheringFile *file = (GatheringFile *)log;
    *issued = file->issued;
    *requested = file->requested;
    return SQLITE_OK;
}
