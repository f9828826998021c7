#!/usr/bin/env bash
# `lake-bench filters` with the catalog in PostgreSQL (issue 16: filters at 1,000,000 objects,
# p50 ≤ 50 ms): a throwaway PostgreSQL on loopback (postgres.sh), a store made with --catalog.
#
#   bash Sources/lake-bench/scripts/filters_pg_bench.sh WORK [OBJECTS] [CASES]     # root; release build first
set -euo pipefail
work=${1:?usage: filters_pg_bench.sh WORK [OBJECTS] [CASES]}
objects=${2:-1000000}
cases=${3:-10000}
repo=$(cd "$(dirname "$0")/../../.." && pwd)
mkdir -p "$work"
work=$(cd "$work" && pwd)
# shellcheck source=postgres.sh
. "$(dirname "$0")/postgres.sh"
lake_bench_start_postgres "$work/pg"
trap 'kill -INT "$pg_pid" 2>/dev/null || true' EXIT
rm -rf "$work/bench"
"$repo/.build/release/lake-bench" filters --objects "$objects" --cases "$cases" --work "$work/bench" \
    --lake "$repo/.build/release/lake" --catalog "postgres://lake@127.0.0.1:$pg_port/lake"
