// libpq, loaded when a store first connects to PostgreSQL rather than by the dynamic loader at
// start: linking it would make every `lake` command load libpq and the libraries it needs (TLS,
// Kerberos, LDAP) before doing anything, for stores whose catalog is SQLite (the default). The
// same reason, and the same measurement, as libcurl's loader.
//
// The entry points and the few numbers used (status codes, the error field codes, PGnotify's
// layout) are libpq's stable ABI (libpq.so.5 since PostgreSQL 8.0), so no header package is
// needed to build.
#define _GNU_SOURCE
#include "libpq_loader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

typedef unsigned int Oid;

static struct {
    lake_pg_conn *(*connectdb)(const char *);
    int (*status)(const lake_pg_conn *);
    char *(*errorMessage)(const lake_pg_conn *);
    void (*finish)(lake_pg_conn *);
    int (*socket)(const lake_pg_conn *);
    int (*backendPID)(const lake_pg_conn *);
    lake_pg_result *(*exec)(lake_pg_conn *, const char *);
    lake_pg_result *(*execParams)(lake_pg_conn *, const char *, int, const Oid *, const char *const *, const int *, const int *, int);
    lake_pg_result *(*prepare)(lake_pg_conn *, const char *, const char *, int, const Oid *);
    lake_pg_result *(*execPrepared)(lake_pg_conn *, const char *, int, const char *const *, const int *, const int *, int);
    int (*resultStatus)(const lake_pg_result *);
    char *(*resultErrorField)(const lake_pg_result *, int);
    char *(*resultErrorMessage)(const lake_pg_result *);
    int (*ntuples)(const lake_pg_result *);
    int (*nfields)(const lake_pg_result *);
    char *(*fname)(const lake_pg_result *, int);
    char *(*getvalue)(const lake_pg_result *, int, int);
    int (*getisnull)(const lake_pg_result *, int, int);
    int (*getlength)(const lake_pg_result *, int, int);
    char *(*cmdTuples)(lake_pg_result *);
    void (*clear)(lake_pg_result *);
    int (*consumeInput)(lake_pg_conn *);
    lake_pg_notify *(*notifies)(lake_pg_conn *);
    void (*freemem)(void *);
} pq;

static pthread_once_t loaded = PTHREAD_ONCE_INIT;
static const char *load_failure;
static char load_message[512];

static void load(void) {
    void *library = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(load_message, sizeof load_message,
                 "libpq is needed to reach a PostgreSQL catalog and could not be loaded (%s); on Debian: apt install libpq5", dlerror());
        load_failure = load_message;
        return;
    }
#define FIND(field, name) if (!(*(void **)&pq.field = dlsym(library, name))) { \
        snprintf(load_message, sizeof load_message, "libpq.so.5 has no %s", name); load_failure = load_message; return; }
    FIND(connectdb, "PQconnectdb")
    FIND(status, "PQstatus")
    FIND(errorMessage, "PQerrorMessage")
    FIND(finish, "PQfinish")
    FIND(socket, "PQsocket")
    FIND(backendPID, "PQbackendPID")
    FIND(exec, "PQexec")
    FIND(execParams, "PQexecParams")
    FIND(prepare, "PQprepare")
    FIND(execPrepared, "PQexecPrepared")
    FIND(resultStatus, "PQresultStatus")
    FIND(resultErrorField, "PQresultErrorField")
    FIND(resultErrorMessage, "PQresultErrorMessage")
    FIND(ntuples, "PQntuples")
    FIND(nfields, "PQnfields")
    FIND(fname, "PQfname")
    FIND(getvalue, "PQgetvalue")
    FIND(getisnull, "PQgetisnull")
    FIND(getlength, "PQgetlength")
    FIND(cmdTuples, "PQcmdTuples")
    FIND(clear, "PQclear")
    FIND(consumeInput, "PQconsumeInput")
    FIND(notifies, "PQnotifies")
    FIND(freemem, "PQfreemem")
#undef FIND
}

const char *lake_pq_load(void) {
    pthread_once(&loaded, load);
    return load_failure;
}

// Every call below comes after lake_pq_load returned NULL (the Swift side connects first).
lake_pg_conn *lake_PQconnectdb(const char *conninfo) { return pq.connectdb(conninfo); }
int lake_PQstatus(const lake_pg_conn *conn) { return pq.status(conn); }
const char *lake_PQerrorMessage(const lake_pg_conn *conn) { return pq.errorMessage(conn); }
void lake_PQfinish(lake_pg_conn *conn) { pq.finish(conn); }
int lake_PQsocket(const lake_pg_conn *conn) { return pq.socket(conn); }
int lake_PQbackendPID(const lake_pg_conn *conn) { return pq.backendPID(conn); }

lake_pg_result *lake_PQexec(lake_pg_conn *conn, const char *command) { return pq.exec(conn, command); }

lake_pg_result *lake_PQexecParams(lake_pg_conn *conn, const char *command, int count, const char *const *values) {
    return pq.execParams(conn, command, count, NULL, values, NULL, NULL, 0);
}

lake_pg_result *lake_PQprepare(lake_pg_conn *conn, const char *name, const char *command) {
    return pq.prepare(conn, name, command, 0, NULL);
}

lake_pg_result *lake_PQexecPrepared(lake_pg_conn *conn, const char *name, int count, const char *const *values) {
    return pq.execPrepared(conn, name, count, values, NULL, NULL, 0);
}

int lake_PQresultStatus(const lake_pg_result *result) { return pq.resultStatus(result); }
const char *lake_PQresultErrorField(const lake_pg_result *result, int field) { return pq.resultErrorField(result, field); }
const char *lake_PQresultErrorMessage(const lake_pg_result *result) { return pq.resultErrorMessage(result); }
int lake_PQntuples(const lake_pg_result *result) { return pq.ntuples(result); }
int lake_PQnfields(const lake_pg_result *result) { return pq.nfields(result); }
const char *lake_PQfname(const lake_pg_result *result, int column) { return pq.fname(result, column); }
const char *lake_PQgetvalue(const lake_pg_result *result, int row, int column) { return pq.getvalue(result, row, column); }
int lake_PQgetisnull(const lake_pg_result *result, int row, int column) { return pq.getisnull(result, row, column); }
int lake_PQgetlength(const lake_pg_result *result, int row, int column) { return pq.getlength(result, row, column); }
const char *lake_PQcmdTuples(lake_pg_result *result) { return pq.cmdTuples(result); }
void lake_PQclear(lake_pg_result *result) { pq.clear(result); }
int lake_PQconsumeInput(lake_pg_conn *conn) { return pq.consumeInput(conn); }
lake_pg_notify *lake_PQnotifies(lake_pg_conn *conn) { return pq.notifies(conn); }
void lake_PQfreemem(void *pointer) { pq.freemem(pointer); }
