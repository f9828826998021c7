#!/usr/bin/env bash
# Two builds of `lake` reading the same lake in turn (docs/benchmarks.md, "Object views at 50,000
# files", "Opens of small files"): a loader's passes through `objects/` and a dataset's tree,
# warm and after `drop_caches` through a read-write mount, and after `drop_caches` through a
# read-only one, each build mounting the lake for its passes.
#
#   bash Sources/lake-bench/scripts/epochs_bench.sh WORK 50000 2 1     # makes WORK's lake first
#   bash Sources/lake-bench/scripts/passes_ab.sh WORK LAKE_A LAKE_B [PASSES] [ROUNDS]
#
# Per build and round: µs per file of each pass (the first of each mount fills the daemon's
# caches), the read-write daemon's CPU time per file over the warm passes of objects/ after the
# first, and its VmRSS after its passes. Needs root and readall (built by
# epochs_bench.sh).
set -euo pipefail

work=${1:?usage: passes_ab.sh WORK LAKE_A LAKE_B [PASSES] [ROUNDS]}
builds=("${2:?LAKE_A}" "${3:?LAKE_B}")
passes=${4:-4}
rounds=${5:-2}
work=$(cd "$work" && pwd)
lists=$work/lists mnt=$work/mnt ro=$work/ro
[ -f "$lists/rw-objects" ] && [ -x "$work/readall" ] || { echo "run epochs_bench.sh $work first" >&2; exit 1; }
export LAKE_STORE=$work/store
files=$(wc -l < "$lists/rw-objects")

cleanup() { for m in "$mnt" "$ro"; do fusermount3 -uz "$m" 2>/dev/null || true; done; }
trap cleanup EXIT
cleanup
per_file() { awk -v n="$files" '{printf " %.1f", $1 / n * 1e6}'; }
daemon() { pgrep -f -- " mount (.* )?$1( |$)" | head -1; }
# A process's CPU time so far, in clock ticks (user + system).
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# PASSES passes over a list, each after dropping every cache.
cold_passes() {
    for _ in $(seq "$passes"); do
        sync; echo 3 > /proc/sys/vm/drop_caches
        "$work/readall" < "$1" | per_file
    done
    printf "\n"
}

for round in $(seq "$rounds"); do
    for lake in "${builds[@]}"; do
        "$lake" mount "$mnt" >/dev/null
        printf "round %s %s\n  read-write objects/, warm:" "$round" "$lake"
        "$work/readall" < "$lists/rw-objects" | per_file
        before=$(cpu "$(daemon "$mnt")")
        for _ in $(seq 2 "$passes"); do "$work/readall" < "$lists/rw-objects" | per_file; done
        printf "  (daemon CPU %s µs per file)" "$(( ($(cpu "$(daemon "$mnt")") - before) * 1000000 / $(getconf CLK_TCK) / (files * (passes - 1)) ))"
        printf "\n  read-write datasets/, warm:"
        for _ in $(seq "$passes"); do "$work/readall" < "$lists/rw-datasets" | per_file; done
        printf "\n  read-write daemon: %s MiB\n" "$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$(daemon "$mnt")/status")"
        printf "  read-write objects/, cold:"
        cold_passes "$lists/rw-objects"
        "$lake" unmount "$mnt" >/dev/null
        "$lake" mount -o ro "$ro" >/dev/null
        printf "  read-only objects/, cold:"
        cold_passes "$lists/ro-objects"
        "$lake" unmount "$ro" >/dev/null
    done
done
