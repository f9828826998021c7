#!/usr/bin/env bash
# Uploading a large file through a node whose store keeps its blobs in a bucket (issue 16), against
# a plain multipart upload of the same file to the same server with boto3 (its defaults: 8 MiB
# parts, 10 threads), alternating, medians. Goal: Lake ≥ 0.7 × the plain upload's speed.
#
#   bash Sources/lake-bench/scripts/bucket_upload_bench.sh WORK [MIB] [ROUNDS]     # root; pip install boto3
#
# Starts PostgreSQL (postgres.sh) and SeaweedFS (`weed mini`) on loopback, makes a store with
# --catalog and --blobs, mounts it, writes MIB MiB of random bytes (kept in the page cache for
# both sides), and per round: `cp` into incoming/ (it returns when the object is stored: spooled,
# hashed, in the bucket, recorded), then boto3's upload_file of the same file to another key.
# Each round's file differs in its first bytes, so neither side finds it stored already.
set -euo pipefail
work=${1:?usage: bucket_upload_bench.sh WORK [MIB] [ROUNDS]}
mib=${2:-1024}
rounds=${3:-3}
lake=${LAKE:-$(cd "$(dirname "$0")/../../.." && pwd)/.build/release/lake}
mkdir -p "$work"
work=$(cd "$work" && pwd)
cleanup() {
    "$lake" unmount "$work/mnt" >/dev/null 2>&1 || fusermount3 -uz "$work/mnt" 2>/dev/null || true
    [ -z "${weed_pid:-}" ] || lake_bench_stop_seaweed
    [ -n "${pg_pid:-}" ] && kill -INT "$pg_pid" 2>/dev/null || true
}
trap cleanup EXIT
rm -rf "$work/store" "$work/source.bin"
mkdir -p "$work/mnt"
# shellcheck source=postgres.sh
. "$(dirname "$0")/postgres.sh"
lake_bench_start_postgres "$work/pg"
# shellcheck source=seaweed.sh
. "$(dirname "$0")/seaweed.sh"
lake_bench_start_seaweed "$work/weed"
"$lake" init --store "$work/store" --catalog "postgres://lake@127.0.0.1:$pg_port/lake" \
    --blobs "s3://upload/lake?endpoint=$endpoint&region=us-east-1" --cache-size 100G >/dev/null
"$lake" mount --store "$work/store" "$work/mnt" >/dev/null
head -c $((mib << 20)) /dev/urandom > "$work/source.bin"

python3 - "$work" "$endpoint" "$rounds" "$mib" <<'PY'
import os, statistics, subprocess, sys, time
import boto3
from boto3.s3.transfer import TransferConfig
work, endpoint, rounds, mib = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"], aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"])
s3.create_bucket(Bucket="plain")
source = os.path.join(work, "source.bin")
lake, plain = [], []
for r in range(rounds):
    with open(source, "r+b") as f: f.write(os.urandom(64))
    with open(source, "rb") as f:
        while f.read(1 << 24): pass
    t0 = time.monotonic()
    subprocess.run(["cp", source, os.path.join(work, "mnt", "incoming", "u%d.bin" % r)], check=True)
    lake.append(time.monotonic() - t0)
    t0 = time.monotonic()
    s3.upload_file(source, "plain", "u%d.bin" % r, Config=TransferConfig())
    plain.append(time.monotonic() - t0)
    print("round %d: lake %.2f s, boto3 %.2f s" % (r + 1, lake[-1], plain[-1]), flush=True)
l, p = statistics.median(lake), statistics.median(plain)
print("upload of %d MiB: lake (cp into incoming/) %.2f s (%.0f MiB/s, %.2f ms/MiB), boto3 multipart %.2f s (%.0f MiB/s); ratio %.2f (goal >= 0.7)"
      % (mib, l, mib / l, l * 1000 / mib, p, mib / p, p / l))
PY
