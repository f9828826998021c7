#!/usr/bin/env bash
# Case and dataset trees browsed for days (docs/benchmarks.md, "Case and dataset trees, browsed
# for days"): the mount daemon's resident memory while `find` walks many large dataset trees.
#
#   bash Sources/lake-bench/scripts/epochs_bench.sh WORK 20000 2 1      # makes WORK's lake first
#   bash Sources/lake-bench/scripts/trees_rss.sh WORK [DATASETS]
#
# Makes DATASETS (default 10) frozen datasets in all of WORK's cases (the one epochs_bench.sh
# froze counts), mounts the lake read-only, walks `objects/` and then each dataset's tree twice
# (`find -name nomatch`; FIND='-size +1000000k' stats every file too, which makes each member's
# object.json), and prints the daemon's VmRSS in MiB after each walk. Needs root and the release
# build (LAKE=PATH for another).
set -euo pipefail

work=${1:?usage: trees_rss.sh WORK [DATASETS]}
count=${2:-10}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
lake=${LAKE:-$repo/.build/release/lake}
read -r -a test <<< "${FIND:--name nomatch}"
work=$(cd "$work" && pwd)
lists=$work/lists ro=$work/ro
[ -f "$lists/cases" ] && [ -f "$lists/dataset" ] || { echo "run epochs_bench.sh $work first" >&2; exit 1; }
export LAKE_STORE=$work/store

datasets=$lists/trees-datasets
[ -f "$datasets" ] || { cat "$lists/dataset"; echo; } > "$datasets"
while [ "$(grep -c . "$datasets")" -lt "$count" ]; do
    id=$("$lake" dataset create --name "trees-$(grep -c . "$datasets")" --cases-from "$lists/cases" --json |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    "$lake" dataset freeze "$id" >/dev/null
    echo "$id" >> "$datasets"
done

cleanup() { "$lake" unmount "$ro" >/dev/null 2>&1 || fusermount3 -uz "$ro" 2>/dev/null || true; }
trap cleanup EXIT
cleanup
mkdir -p "$ro"
"$lake" mount -o ro "$ro" >/dev/null
pid=$(pgrep -f -- " mount (.* )?$ro( |$)" | head -1)
rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status"; }
find "$ro/objects" -name nomatch
echo "after objects/: $(rss) MiB"
for walk in 1 2; do
    printf "walk %d, after each dataset:" "$walk"
    for id in $(grep . "$datasets" | head -n "$count"); do
        find "$ro/datasets/$id" "${test[@]}"
        printf " %s" "$(rss)"
    done
    echo
done
