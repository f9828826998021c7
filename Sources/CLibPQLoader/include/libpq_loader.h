#ifndef LAKE_LIBPQ_LOADER_H
#define LAKE_LIBPQ_LOADER_H

// libpq, PostgreSQL's own client library, loaded at the first connection (see libpq_loader.c).
// The types are opaque here; the functions are libpq's, same names with a lake_ prefix.

typedef struct pg_conn lake_pg_conn;
typedef struct pg_result lake_pg_result;

/// A notification received on a LISTENed channel (libpq's PGnotify, whose layout is its ABI).
typedef struct lake_pg_notify {
    char *relname;
    int be_pid;
    char *extra;
    struct lake_pg_notify *next;
} lake_pg_notify;

/// Loads libpq the first time it is called (any thread): NULL once loaded, else a sentence
/// saying why it could not be.
const char *lake_pq_load(void);

lake_pg_conn *lake_PQconnectdb(const char *conninfo);
int lake_PQstatus(const lake_pg_conn *conn);                 // 0: CONNECTION_OK
const char *lake_PQerrorMessage(const lake_pg_conn *conn);
void lake_PQfinish(lake_pg_conn *conn);
int lake_PQsocket(const lake_pg_conn *conn);
int lake_PQbackendPID(const lake_pg_conn *conn);

/// Runs a text of one or more statements, without parameters.
lake_pg_result *lake_PQexec(lake_pg_conn *conn, const char *command);
/// Runs one statement with text parameters ($1…), results in text.
lake_pg_result *lake_PQexecParams(lake_pg_conn *conn, const char *command, int count, const char *const *values);
/// Prepares `command` under `name` on this connection; runs a prepared statement.
lake_pg_result *lake_PQprepare(lake_pg_conn *conn, const char *name, const char *command);
lake_pg_result *lake_PQexecPrepared(lake_pg_conn *conn, const char *name, int count, const char *const *values);

int lake_PQresultStatus(const lake_pg_result *result);       // 1: COMMAND_OK, 2: TUPLES_OK, 7: FATAL_ERROR
const char *lake_PQresultErrorField(const lake_pg_result *result, int field);   // 'C': SQLSTATE, 'M': message
const char *lake_PQresultErrorMessage(const lake_pg_result *result);
int lake_PQntuples(const lake_pg_result *result);
int lake_PQnfields(const lake_pg_result *result);
const char *lake_PQfname(const lake_pg_result *result, int column);
const char *lake_PQgetvalue(const lake_pg_result *result, int row, int column);
int lake_PQgetisnull(const lake_pg_result *result, int row, int column);
int lake_PQgetlength(const lake_pg_result *result, int row, int column);
const char *lake_PQcmdTuples(lake_pg_result *result);
void lake_PQclear(lake_pg_result *result);

int lake_PQconsumeInput(lake_pg_conn *conn);                 // 1: ok
lake_pg_notify *lake_PQnotifies(lake_pg_conn *conn);
void lake_PQfreemem(void *pointer);

#endif
