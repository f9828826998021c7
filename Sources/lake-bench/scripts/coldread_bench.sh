#!/usr/bin/env bash
# Cold reads the daemon serves (docs/benchmarks.md, "Cold reads the daemon serves"): FILES files of
# SIZE bytes uploaded to a fresh store, read whole after `drop_caches` through a read-only mount
# (`lake mount -o ro`: no opens, so every first read is the daemon's, re-hashed on the way) against
# the same files on the disk, alternating within each round. With a second build (LAKE_B) the two
# builds alternate too: an A/B of a change to the read path.
#
#   bash Sources/lake-bench/scripts/coldread_bench.sh WORK [FILES] [SIZE_KIB] [ROUNDS]
#   LAKE_B=/path/to/other/lake bash Sources/lake-bench/scripts/coldread_bench.sh WORK 200 1024 7
#   MODE=rw ORDER=shuffled bash Sources/lake-bench/scripts/coldread_bench.sh WORK 1000 64 5
#
# MODE=rw reads through a read-write mount instead (opens, kernel passthrough); MODE=dataset through
# `lake mount --dataset` of a frozen dataset holding every file (one case, a member per file, read
# in the listing's order: its members are labelled in upload order). ORDER=shuffled
# reads the files in one fixed random order (the same for the disk) instead of the listing's,
# which is what a training loader that shuffles does: reading ahead across files cannot help it.
#
# Prints µs per file (open, read in 1 MiB calls, close; timed inside Python, start-up excluded) for
# each round and the medians with disk ÷ Lake (goal ≥ 0.8). Needs root and the release build.
set -euo pipefail

work=${1:?usage: coldread_bench.sh WORK [FILES] [SIZE_KIB] [ROUNDS]}
files=${2:-200}
size_kib=${3:-1024}
rounds=${4:-5}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
lake_a=${LAKE:-$repo/.build/release/lake}
lake_b=${LAKE_B:-}
mode=${MODE:-ro}
order=${ORDER:-listed}

mkdir -p "$work"
work=$(cd "$work" && pwd)
src=$work/disk-$files-$size_kib
store=$work/store-$files-$size_kib
mnt=$work/mnt
mkdir -p "$mnt"
mountpoint -q "$mnt" && "$lake_a" unmount "$mnt" >/dev/null

if [ ! -d "$store" ]; then
    rm -rf "$src"
    mkdir -p "$src"
    for i in $(seq 1 "$files"); do head -c $((size_kib * 1024)) /dev/urandom > "$src/f$i.bin"; done
    "$lake_a" init --store "$store" >/dev/null
    "$lake_a" upload --store "$store" "$src"/*.bin >/dev/null
fi
if [ "$mode" = dataset ] && [ ! -s "$store.dataset" ]; then
    # shellcheck disable=SC2046
    case_id=$("$lake_a" case create --store "$store" --name all --json $("$lake_a" object ls --store "$store" --limit 1000000 --json \
        | python3 -c 'import json, sys; [print("--object", o["id"] + ":m%06d" % i) for i, o in enumerate(reversed(json.load(sys.stdin)["objects"]))]') \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    dataset=$("$lake_a" dataset create --store "$store" --name all --case "$case_id" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    "$lake_a" dataset freeze --store "$store" "$dataset" >/dev/null
    echo "$dataset" > "$store.dataset"
fi

cat > "$work/read.py" <<'EOF'
import os, sys, time
paths = sys.argv[2:]
if sys.argv[1] == "shuffled":
    import random
    random.Random(13).shuffle(paths)
start = time.perf_counter()
for path in paths:
    fd = os.open(path, os.O_RDONLY)
    while os.read(fd, 1 << 20):
        pass
    os.close(fd)
print(round((time.perf_counter() - start) * 1e6 / len(paths), 1))
EOF

drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }

# One cold pass: through a read-only mount of `$1`, or over the disk's files when `$1` is "disk".
pass() {
    local paths
    if [ "$1" = disk ]; then
        paths=$(ls "$src"/*.bin)
    else
        if [ "$mode" = dataset ]; then
            "$1" mount --store "$store" "$mnt" --dataset "$(cat "$store.dataset")" >/dev/null
            paths=$(ls -d "$mnt"/cases/*/*/file)
        else
            # shellcheck disable=SC2046
            "$1" mount --store "$store" "$mnt" $([ "$mode" = ro ] && echo "-o ro") >/dev/null
            paths=$(ls -d "$mnt"/objects/*/file)
        fi
    fi
    drop
    # shellcheck disable=SC2086
    python3 "$work/read.py" "$order" $paths
    [ "$1" = disk ] || "$1" unmount "$mnt" >/dev/null
}

labels=(a disk)
builds=("$lake_a" disk)
if [ -n "$lake_b" ]; then labels=(a b disk); builds=("$lake_a" "$lake_b" disk); fi
declare -A results
for round in $(seq 1 "$rounds"); do
    line="round $round:"
    for i in "${!builds[@]}"; do
        us=$(pass "${builds[$i]}")
        results[${labels[$i]}]+="$us "
        line+=" ${labels[$i]} $us"
    done
    echo "$line µs per file"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
disk=$(echo "${results[disk]}" | median)
echo "$files × $size_kib KiB, $mode mount, $order order, medians of $rounds, µs per file:"
for label in "${labels[@]}"; do
    m=$(echo "${results[$label]}" | median)
    [ "$label" = disk ] && echo "  disk $m" || echo "  lake $label $m  (disk ÷ lake $(awk -v d="$disk" -v m="$m" 'BEGIN {printf "%.2f", d / m}'))"
done
if damaged=$(sqlite3 "$store/catalog.sqlite" "SELECT count(*) FROM blob_damage" 2>/dev/null) && [ "$damaged" != 0 ]; then
    echo "WARNING: $damaged blobs recorded as damaged during the run (they are intact: the read path is wrong)"
    exit 1
fi
