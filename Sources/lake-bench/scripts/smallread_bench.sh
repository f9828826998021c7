#!/usr/bin/env bash
# Reading many small files, as training loaders do (docs/benchmarks.md, "Reading many small
# files"): every file read whole (open, read, close) through each of Lake's trees against the same
# files on plain disk, warm and cold, alternating within each round; also `stat` of every file and
# `find` over the trees.
#
#   bash Sources/lake-bench/scripts/smallread_bench.sh WORK [FILES] [ROUNDS]
#
# FILES (default 2000) files of 4 KiB and of 64 KiB and min(FILES, 2000) of 1 MiB are written to
# WORK/disk and copied into a fresh lake's incoming/ (WORK/store, mounted at WORK/mnt with the
# defaults), processed, grouped into cases of at most 1,000 members, and the cases into one
# frozen dataset, which is also mounted on its own (`lake mount --dataset`, WORK/ds); the whole
# lake is mounted a second time read-only (`lake mount -o ro`, WORK/ro: no opens, see
# docs/mounting.md). Trees read: objects/<id>/file, cases/<case>/<label>/file,
# datasets/<id>/cases/<case>/<label>/file (rows "ro-…": the same through the read-only mount), and
# the dataset mount's cases/<case>/<label>/file; the disk's files in the same order. Warm: read once
# before timing. Cold: `drop_caches` before each timed pass (both sides). Medians of ROUNDS
# (default 3); ratio = disk time ÷ Lake time (goal ≥ 0.8). Needs root, cc, and the release build.
#
# The reference FUSE filesystem: libfuse's own low-level example `passthrough_ll` (Debian ships its
# source with libfuse3-dev; built here), run with `-o cache=always` (day-long entry and attribute
# timeouts, kept pages and listings) over the same disk files (rows "libfuse"), and over a copy of
# each Lake tree's shape for `find` (the copy holds every folder and name, files without bytes).
set -euo pipefail

work=${1:?usage: smallread_bench.sh WORK [FILES] [ROUNDS]}
files=${2:-2000}
rounds=${3:-3}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
lake=${LAKE:-$repo/.build/release/lake}
[ -x "$lake" ] || { echo "build first: swift build -c release" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
store=$work/store mnt=$work/mnt ds=$work/ds ro=$work/ro disk=$work/disk lists=$work/lists
export LAKE_STORE=$store

pt=$work/pt ptc=$work/ptc copies=$work/copies
cleanup() {
    for m in "$pt" "$ptc"; do fusermount3 -uz "$m" 2>/dev/null || true; done
    for m in "$ds" "$ro" "$mnt"; do "$lake" unmount "$m" >/dev/null 2>&1 || fusermount3 -uz "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
cleanup
rm -rf "$store" "$lists"
mkdir -p "$mnt" "$ds" "$ro" "$lists" "$pt" "$ptc"
cc -O2 -o "$work/readall" "$repo/Sources/lake-bench/scripts/readall.c"
examples=/usr/share/doc/libfuse3-dev/examples
[ -f "$examples/passthrough_ll.c" ] || { echo "libfuse3-dev's examples are missing ($examples)" >&2; exit 1; }
cc -O2 -I"$examples" -o "$work/passthrough_ll" "$examples/passthrough_ll.c" $(pkg-config --cflags --libs fuse3)

python3 - "$disk" "$files" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for shape, size, count in (("4k", 4096, n), ("64k", 65536, n), ("1m", 1 << 20, min(n, 2000))):
    folder = os.path.join(root, shape)
    marker = os.path.join(folder, ".done-%d" % count)
    if os.path.exists(marker):
        continue
    for i in range(count):
        sub = os.path.join(folder, "d%03d" % (i // 1000))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "s%s_%06d.bin" % (shape, i)), "wb") as f:
            f.write(os.urandom(size))
    open(marker, "w").close()
PY

"$lake" init >/dev/null
"$lake" mount "$mnt" >/dev/null
echo "copying into incoming/ …"
for shape in 4k 64k 1m; do
    (cd "$disk/$shape" && find . -type f -name '*.bin' | sort) > "$lists/$shape.rel"
    cp -r "$disk/$shape" "$mnt/incoming/$shape"
done
# The daemon processes them; wait until none is queued or in progress.
while "$lake" object ls --json --limit 1000000 | python3 -c '
import json, sys
sys.exit(0 if any(o["status"] in ("UPLOADED", "PROCESSING") for o in json.load(sys.stdin)["objects"]) else 1)'; do
    sleep 1
done
"$lake" unmount "$mnt" >/dev/null

echo "grouping into cases and a frozen dataset …"
"$lake" object ls --json --limit 1000000 > "$lists/objects.json"
python3 - "$lists" "$lake" <<'PY'
import json, os, subprocess, sys
lists, lake = sys.argv[1], sys.argv[2]
ids = {o["name"]: o["id"] for o in json.load(open(os.path.join(lists, "objects.json")))["objects"] if o["status"] == "READY"}
cases = []
for shape in ("4k", "64k", "1m"):
    rel = [line.strip() for line in open(os.path.join(lists, shape + ".rel")) if line.strip()]
    names = [os.path.basename(r) for r in rel]
    missing = [n for n in names if n not in ids]
    if missing:
        sys.exit("not stored and READY: %s …" % missing[:3])
    members = []
    for start in range(0, len(names), 1000):
        chunk = names[start:start + 1000]
        args = [lake, "case", "create", "--name", "%s-%d" % (shape, start // 1000), "--json"]
        for n in chunk:
            args += ["--object", "%s:%s" % (ids[n], n[:-4])]
        case = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
        cases.append(case["id"])
        members += [(case["id"], n[:-4]) for n in chunk]
    with open(os.path.join(lists, shape + ".objects"), "w") as f:
        f.writelines("objects/%s/file\n" % ids[n] for n in names)
    with open(os.path.join(lists, shape + ".members"), "w") as f:
        f.writelines("cases/%s/%s/file\n" % m for m in members)
with open(os.path.join(lists, "cases"), "w") as f:
    f.writelines(c + "\n" for c in cases)
dataset = json.loads(subprocess.run([lake, "dataset", "create", "--name", "small-read-bench", "--cases-from",
                                     os.path.join(lists, "cases"), "--json"], check=True, capture_output=True, text=True).stdout)
subprocess.run([lake, "dataset", "freeze", dataset["id"]], check=True, capture_output=True)
open(os.path.join(lists, "dataset"), "w").write(dataset["id"])
PY
dataset=$(cat "$lists/dataset")
"$lake" mount "$mnt" >/dev/null
"$lake" mount --dataset "$dataset" "$ds" >/dev/null
"$lake" mount -o ro "$ro" >/dev/null
# passthrough_ll holds a descriptor per inode the kernel knows: as many as this account may, and
# a tree with more inodes than that fails there with EMFILE (printed as "failed").
ptll() { (ulimit -n "$(ulimit -Hn)" && exec "$work/passthrough_ll" "$@"); }
ptll -o source="$disk",cache=always "$pt"

# One timed pass: prints seconds for the list of paths on stdin.
pass() { "$work/readall" "$@" | cut -d' ' -f1; }
drop() { sync; echo 3 > /proc/sys/vm/drop_caches; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf "%-5s %-12s %-5s %7s %12s %12s %7s\n" size tree cache files "lake µs/f" "disk µs/f" ratio
for shape in $([ -n "${SKIP_READS:-}" ] || echo 4k 64k 1m); do
    sed "s|^\./|$disk/$shape/|" "$lists/$shape.rel" > "$lists/$shape.disk"
    sed "s|^|$mnt/|" "$lists/$shape.objects" > "$lists/$shape.lake-objects"
    sed "s|^|$mnt/|" "$lists/$shape.members" > "$lists/$shape.lake-cases"
    sed "s|^|$mnt/datasets/$dataset/|" "$lists/$shape.members" > "$lists/$shape.lake-datasets"
    sed "s|^|$ds/|" "$lists/$shape.members" > "$lists/$shape.lake-mount"
    sed "s|^|$ro/|" "$lists/$shape.objects" > "$lists/$shape.lake-ro-objects"
    sed "s|^|$ro/|" "$lists/$shape.members" > "$lists/$shape.lake-ro-cases"
    sed "s|^|$ro/datasets/$dataset/|" "$lists/$shape.members" > "$lists/$shape.lake-ro-datasets"
    sed "s|^\./|$pt/$shape/|" "$lists/$shape.rel" > "$lists/$shape.lake-libfuse"
    count=$(wc -l < "$lists/$shape.disk")
    for tree in objects cases datasets ro-objects ro-cases ro-datasets mount libfuse; do
        # passthrough_ll keeps a descriptor per inode the kernel knows: past this machine's
        # limit (20,000 here) its reads fail with EMFILE.
        if [ "$tree" = libfuse ] && [ "$((count * 2))" -gt "$(ulimit -Hn)" ]; then
            printf "%-5s %-12s %s\n" "$shape" "$tree" "skipped: more files than passthrough_ll can hold descriptors for"
            continue
        fi
        for cache in warm cold stat; do
            lake_t=() disk_t=()
            flag=(); [ "$cache" = stat ] && flag=(-s)
            for _ in $(seq "$rounds"); do
                for side in disk "lake-$tree"; do
                    if [ "$cache" = cold ]; then drop; else pass "${flag[@]}" < "$lists/$shape.$side" >/dev/null; fi
                    t=$(pass "${flag[@]}" < "$lists/$shape.$side")
                    if [ "$side" = disk ]; then disk_t+=("$t"); else lake_t+=("$t"); fi
                done
            done
            l=$(printf '%s\n' "${lake_t[@]}" | median) d=$(printf '%s\n' "${disk_t[@]}" | median)
            printf "%-5s %-12s %-5s %7d %12.1f %12.1f %7.2f\n" "$shape" "$tree" "$cache" "$count" \
                "$(echo "$l * 1000000 / $count" | bc -l)" "$(echo "$d * 1000000 / $count" | bc -l)" "$(echo "$d / $l" | bc -l)"
        done
    done
done

# find over whole trees, warm: names only (-name that matches nothing) and with a stat of every
# entry (-size), through each Lake tree, through passthrough_ll over a copy of that tree's shape,
# and on the copy itself. SKIP_READS=1 measures only these.
quietly() { "$@" 2>/dev/null || true; }
seconds() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
rm -rf "$copies"; mkdir -p "$copies"
trees=("incoming:$mnt/incoming" "objects:$mnt/objects" "cases:$mnt/cases" "datasets:$mnt/datasets/$dataset"
       "ro-objects:$ro/objects" "ro-cases:$ro/cases" "ro-datasets:$ro/datasets/$dataset" "dataset-mount:$ds")
for pair in "${trees[@]}"; do
    cp -r --attributes-only "${pair#*:}" "$copies/${pair%%:*}"
done
printf "%-16s %-14s %9s %9s %9s %9s\n" find tree "lake s" "libfuse s" "disk s" "libfuse÷lake"
for pair in "${trees[@]}"; do
    name=${pair%%:*} dir=${pair#*:}
    # A passthrough_ll of its own per tree: the descriptors it holds for one tree's inodes
    # would otherwise count against the next.
    ptll -o source="$copies/$name",cache=always "$ptc"
    for what in "-name nomatch" "-size +1000000k"; do
        lake_t=() ref_t=() disk_t=()
        find "$dir" $what >/dev/null; quietly find "$ptc" $what >/dev/null; find "$copies/$name" $what >/dev/null
        for _ in $(seq "$rounds"); do
            disk_t+=("$(seconds find "$copies/$name" $what)")
            ref_t+=("$(seconds quietly find "$ptc" $what)")
            lake_t+=("$(seconds find "$dir" $what)")
        done
        l=$(printf '%s\n' "${lake_t[@]}" | median) r=$(printf '%s\n' "${ref_t[@]}" | median) d=$(printf '%s\n' "${disk_t[@]}" | median)
        if find "$ptc" $what >/dev/null 2>&1; then
            printf "%-16s %-14s %9.4f %9.4f %9.4f %9.2f\n" "$what" "$name" "$l" "$r" "$d" "$(echo "$r / $l" | bc -l)"
        else
            printf "%-16s %-14s %9.4f %9s %9.4f %9s\n" "$what" "$name" "$l" failed "$d" "-"
        fi
    done
    fusermount3 -u "$ptc"
done
