#!/usr/bin/env bash
# Sourced by the benchmarks that need PostgreSQL: a throwaway cluster in a folder of their own,
# initdb'd as the postgres account (the server refuses root) with password authentication over
# loopback, and one database `lake`. Sets pg_port and pg_pid, exports PGPASSWORD; the caller
# stops it (`kill -INT "$pg_pid"`).
lake_bench_start_postgres() {
    local folder=$1
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    export PGPASSWORD=${PGPASSWORD:-bench-pw}
    pg_port=$((20000 + RANDOM % 9000))
    rm -rf "$folder" && mkdir -p "$folder"
    chmod 755 "$(dirname "$folder")" && chown postgres "$folder"
    echo "$PGPASSWORD" > "$folder/pw" && chown postgres "$folder/pw"
    setpriv --reuid=postgres --regid=postgres --init-groups "$bin/initdb" -D "$folder/data" -U lake --pwfile="$folder/pw" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-instructions > "$folder/log" 2>&1
    setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$folder/data" -p "$pg_port" -k "$folder" \
        -c listen_addresses=127.0.0.1 -c shared_buffers=1GB >> "$folder/log" 2>&1 &
    pg_pid=$!
    until psql -h 127.0.0.1 -p "$pg_port" -U lake -d postgres -c 'CREATE DATABASE lake' >/dev/null 2>&1; do sleep 0.2; done
}
