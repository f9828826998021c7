#!/usr/bin/env bash
# Two nodes of one lake on this machine (issue 16): how long an upload on node A takes to appear
# in node B's objects/, over N uploads, p50 and p99 (goal p99 ≤ 1 s).
#
#   bash Sources/lake-bench/scripts/cluster_bench.sh WORK [UPLOADS]     # root; LAKE=PATH for another build
#
# Starts a throwaway PostgreSQL (initdb as the postgres account into WORK/pg, on a loopback port)
# and SeaweedFS (`weed mini`), makes two store folders with the same --catalog and --blobs, mounts
# both, and per upload: copies a 64 KiB file into A's incoming/ (the copy returns once the object
# is stored), reads its id from the receipt's xattr, then, every millisecond, either stats B's
# objects/<id> (a lookup by name: B's daemon asks the catalog) or lists B's objects/ (a listing B's
# daemon keeps until its watcher hears of the change: LISTEN/NOTIFY), alternating between uploads.
# The time from the copy's return to B showing the object is the latency.
set -euo pipefail
work=${1:?usage: cluster_bench.sh WORK [UPLOADS]}
uploads=${2:-100}
lake=${LAKE:-$(cd "$(dirname "$0")/../../.." && pwd)/.build/release/lake}
mkdir -p "$work"
work=$(cd "$work" && pwd)

cleanup() {
    for node in a b; do "$lake" unmount "$work/$node/mnt" >/dev/null 2>&1 || fusermount3 -uz "$work/$node/mnt" 2>/dev/null || true; done
    [ -z "${weed_pid:-}" ] || lake_bench_stop_seaweed
    [ -n "${pg_pid:-}" ] && kill -INT "$pg_pid" 2>/dev/null || true
}
trap cleanup EXIT
rm -rf "$work/a" "$work/b"
mkdir -p "$work/a/mnt" "$work/b/mnt"
# shellcheck source=postgres.sh
. "$(dirname "$0")/postgres.sh"
lake_bench_start_postgres "$work/pg"
pgport=$pg_port

# shellcheck source=seaweed.sh
. "$(dirname "$0")/seaweed.sh"
lake_bench_start_seaweed "$work/weed"

for node in a b; do
    "$lake" init --store "$work/$node/store" --catalog "postgres://lake@127.0.0.1:$pgport/lake" \
        --blobs "s3://cluster/lake?endpoint=$endpoint&region=us-east-1" >/dev/null
    "$lake" mount --store "$work/$node/store" "$work/$node/mnt" >/dev/null
done

python3 - "$work" "$uploads" <<'PY'
import os, subprocess, sys, time
work, n = sys.argv[1], int(sys.argv[2])
a, b = os.path.join(work, "a/mnt"), os.path.join(work, "b/mnt")
by_name, by_listing = [], []
def wait(found, start):
    while not found():
        if time.monotonic() - start > 30: sys.exit("B never showed the upload")
        time.sleep(0.001)
    return time.monotonic() - start
for i in range(n):
    source = os.path.join(work, "u.bin")
    with open(source, "wb") as f: f.write(os.urandom(65536))
    target = os.path.join(a, "incoming", "u%04d.bin" % i)
    subprocess.run(["cp", source, target], check=True)
    stored = time.monotonic()
    oid = os.getxattr(target, "user.lake.id").decode()
    # Alternately: looked up by name (the daemon asks the catalog), and seen in a listing of
    # objects/ (kept until B's watcher learns of the change).
    if i % 2 == 0:
        by_name.append(wait(lambda: os.path.exists(os.path.join(b, "objects", oid)), stored))
    else:
        by_listing.append(wait(lambda: oid in os.listdir(os.path.join(b, "objects")), stored))
for label, values in (("by name", by_name), ("in the listing", by_listing)):
    values.sort()
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    print("visibility A -> B %s, %d uploads: p50 %.0f ms, p99 %.0f ms, max %.0f ms" % (label, len(values), pick(0.5) * 1000, pick(0.99) * 1000, values[-1] * 1000))
PY
