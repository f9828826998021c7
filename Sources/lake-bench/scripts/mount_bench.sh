#!/usr/bin/env bash
# The mount's benchmark (docs/benchmarks.md): fuse-bench.sh against a fresh lake and the same
# files on plain disk, in one run.
#
#   bash Sources/lake-bench/scripts/mount_bench.sh WORK [RUNS]      # LAKE=PATH for another build
#   BLOBS=s3 bash Sources/lake-bench/scripts/mount_bench.sh WORK [RUNS]   # blobs in a bucket (issue 16)
#   PARTS=reads bash …                                               # the read rows only
#
# WORK is a folder on the disk to measure (about 9 GiB free). It gets WORK/direct (the files on
# plain disk, made once by fuse-bench.sh --setup), WORK/store and WORK/mnt (a lake mounted with
# the defaults, taken down at the end) and WORK/results (summary.tsv and ratios.tsv of each
# part). Needs root, fio, hyperfine, attr, and `swift build -c release` done.
#
# The files are copied in through incoming/, so the lake holds the same tree as the disk: the
# metadata, xattr and cp rows run on the receipts in incoming/ (which keep the tree's paths);
# the read rows run on objects/<id>/big.bin, the path readers of objects/ and datasets/ take
# (kernel passthrough from the blob; a receipt is read through the daemon).
#
# BLOBS=s3 makes the store with its blobs in a bucket of SeaweedFS on loopback (`weed` on PATH):
# the copy in through incoming/ leaves each blob in the node's cache, so the read rows measure
# reads from the cache, as a node reads a dataset it has fetched or prefetched.
set -euo pipefail

work=${1:?usage: mount_bench.sh WORK [RUNS]}
runs=${2:-3}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
bench=${FUSE_BENCH:-$repo/../shared/scripts/fuse-bench.sh}
lake=${LAKE:-$repo/.build/release/lake}
[ -x "$lake" ] || { echo "build first: swift build -c release" >&2; exit 1; }
[ -f "$bench" ] || { echo "fuse-bench.sh not found at $bench (set FUSE_BENCH)" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
direct=$work/direct
store=$work/store
mnt=$work/mnt
results=$work/results

# The files on disk, made once: --only none makes them and measures nothing.
if [ ! -f "$direct/fbench/xattr/d09/f00999.vtk" ]; then
    mkdir -p "$direct"
    (cd "$work" && OUT=$work/setup bash "$bench" --setup --only none "$direct" "$direct" >/dev/null)
fi
# The metadata rows use 18,000 of the 100,000 files, as performance.md's anchors do.
if [ ! -d "$direct/fbench/tree18k/d017" ]; then
    mkdir -p "$direct/fbench/tree18k"
    for i in $(seq -f %03g 0 17); do cp -a "$direct/fbench/tree/d$i" "$direct/fbench/tree18k/"; done
fi

# shellcheck source=/dev/null
source "$repo/mount-helpers/fuse-io-uring.sh"
lake_enable_fuse_io_uring

"$lake" unmount "$mnt" >/dev/null 2>&1 || true
rm -rf "$store" "$results"
mkdir -p "$mnt" "$results"
weed_pid=
if [ "${BLOBS:-}" = s3 ]; then
    # shellcheck source=/dev/null
    source "$repo/Sources/lake-bench/scripts/seaweed.sh"
    lake_bench_start_seaweed "$work/weed"
    "$lake" init --store "$store" --blobs "s3://bench/mount?endpoint=$endpoint&region=us-east-1" --cache-size 100G >/dev/null
else
    "$lake" init --store "$store" >/dev/null
fi
"$lake" mount --store "$store" "$mnt"
trap '"$lake" unmount "$mnt" >/dev/null 2>&1 || true; [ -z "$weed_pid" ] || lake_bench_stop_seaweed' EXIT

echo "copying big.bin, tree18k and xattr into $mnt/incoming/fbench/"
mkdir -p "$mnt/incoming/fbench/incoming"
start=$(date +%s)
parts=${PARTS:-reads,metadata}
if [[ $parts == *metadata* ]]; then
    cp -r "$direct"/fbench/{big.bin,tree18k,xattr} "$mnt/incoming/fbench/"
else
    cp "$direct/fbench/big.bin" "$mnt/incoming/fbench/"
fi
echo "import: $(( $(date +%s) - start )) s"

# Reads on objects/<id>/big.bin: fuse-bench.sh reads MOUNT/SUB/big.bin and DIRECT/SUB/big.bin.
id=$(getfattr --only-values -n user.lake.id "$mnt/incoming/fbench/big.bin" 2>/dev/null)
mkdir -p "$work/direct-by-id/$id"
ln -sfn "$direct/fbench/big.bin" "$work/direct-by-id/$id/big.bin"

if [[ $parts == *reads* ]]; then
    (cd "$results" && OUT=$results/reads SUB=$id RUNS=$runs \
        bash "$bench" --only seq,rand "$mnt/objects" "$work/direct-by-id")
fi
if [[ $parts == *metadata* ]]; then
    (cd "$results" && OUT=$results/metadata TREE=tree18k RUNS=$runs \
        bash "$bench" --only meta,xattr,cp "$mnt/incoming" "$direct")
fi

echo
echo "Lake ÷ direct (time ratios for find, ls and getfattr: lower is better)"
for part in reads metadata; do
    [ ! -f "$results/$part/ratios.tsv" ] || tail -n +2 "$results/$part/ratios.tsv" | cut -f1,5
done
