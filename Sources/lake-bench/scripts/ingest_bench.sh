#!/usr/bin/env bash
# Ingest through incoming/ (docs/benchmarks.md, "Ingest"): the mount daemon's memory over many
# uploads, and small-file copies against the same copy to plain disk with an fsync per file.
#
#   bash Sources/lake-bench/scripts/ingest_bench.sh WORK [FILES] [ROUNDS]
#
# WORK is a folder on the disk to measure (about 20 GiB free). Made once under WORK/src: the
# small-file tree of ../shared/scripts/fuse-bench.sh (18,000 files of 1-8 KiB named .vtk, which
# processing finds are not VTK), FILES (default 10000) files of 6 KiB and of 64 KiB, and FILES/10
# of 1 MiB. A lake is made in WORK/store and mounted at WORK/mnt with the defaults (taken down at
# the end). Each shape is copied with `cp -r` into incoming/ and, alternating, to WORK/disk by a
# copier that fsyncs every file (what "durable at close" costs on plain disk), ROUNDS times
# (default 3), with new bytes in every file each round (so the lake stores new blobs, never finds
# them stored); each round's times and the medians are printed with the ratio disk/lake (higher is
# better for Lake; 1.0 means as fast as the disk). The daemon's RSS is read after mounting, after
# every shape and after removing the receipts.
#
# Nothing is deleted while copies are timed: on ext4 without a journal (this machine's disk), a
# new inode is not given a number freed in the last 60-300 s, and finding one past thousands of
# freshly freed numbers cost either side up to a millisecond per file, depending on where the
# allocator looked. The window is 60 s only while the freed inode's table block is clean: new
# inodes written into the same blocks make it dirty again and the window 300 s (the kernel's
# `recently_deleted`), which every create in that group of inodes then pays. Each round copies
# into a new folder; the previous run's files are removed first, and timing starts 305 s after.
# Needs root and `swift build -c release` done.
set -euo pipefail

work=${1:?usage: ingest_bench.sh WORK [FILES] [ROUNDS]}
files=${2:-10000}
rounds=${3:-3}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
lake=${LAKE:-$repo/.build/release/lake}
[ -x "$lake" ] || { echo "build first: swift build -c release" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
src=$work/src store=$work/store mnt=$work/mnt disk=$work/disk

cleanup() {
    "$lake" unmount "$mnt" >/dev/null 2>&1 || fusermount3 -uz "$mnt" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
deleted_at=0
if [ -e "$store" ] || [ -e "$disk" ]; then
    rm -rf "$store" "$disk"
    sync
    deleted_at=$(date +%s)
fi

python3 - "$src" "$files" <<'PY'
import os, random, shutil, sys
root, n = sys.argv[1], int(sys.argv[2])
tree = os.path.join(root, "tree18k")
if not os.path.exists(os.path.join(tree, ".done")):
    shutil.rmtree(tree, ignore_errors=True)
    rnd = random.Random(42)   # as fuse-bench.sh makes its tree
    for i in range(18):
        folder = os.path.join(tree, "d%03d" % i)
        os.makedirs(folder)
        for j in range(1000):
            with open(os.path.join(folder, "f%05d.vtk" % j), "wb") as f:
                f.write(os.urandom(rnd.randint(1024, 8192)))
    open(os.path.join(tree, ".done"), "w").close()
for shape, size, count in (("small6k", 6 * 1024, n), ("files64k", 64 * 1024, n), ("files1m", 1 << 20, max(1, n // 10))):
    folder = os.path.join(root, shape)
    marker = os.path.join(folder, ".done-%d" % count)
    if os.path.exists(marker):
        continue
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(count):
        sub = os.path.join(folder, "d%03d" % (i // 1000))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%05d.bin" % i), "wb") as f:
            f.write(i.to_bytes(8, "little") + os.urandom(size - 8))
    open(marker, "w").close()
PY

sync
if [ "$deleted_at" -gt 0 ]; then
    wait_s=$(( deleted_at + 305 - $(date +%s) ))
    [ "$wait_s" -gt 0 ] && { echo "waiting ${wait_s} s for the freed inode numbers to age"; sleep "$wait_s"; }
fi
mkdir -p "$mnt" "$disk"
"$lake" init --store "$store" >/dev/null
"$lake" mount --store "$store" "$mnt" >/dev/null
# By the binary's own name: LAKE= may point at a build named otherwise.
daemon=$(pgrep -n -f "$(basename "$lake") mount $mnt ")
rss() { awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$daemon/status"; }
start_rss=$(rss)
echo "daemon pid $daemon, RSS after mount: $start_rss MiB"

# Copies every file of a tree to plain disk, fsyncing each before closing it (and each folder).
fsync_copy() {
    python3 - "$1" "$2" <<'PY'
import os, shutil, sys
source, target = sys.argv[1], sys.argv[2]
for folder, subfolders, names in os.walk(source):
    out = os.path.join(target, os.path.relpath(folder, source))
    os.makedirs(out, exist_ok=True)
    for name in names:
        with open(os.path.join(folder, name), "rb") as f, open(os.path.join(out, name), "wb") as g:
            shutil.copyfileobj(f, g, 1 << 20)
            g.flush()
            os.fsync(g.fileno())
    fd = os.open(out, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
PY
}

seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
# Waits until the lake has processed everything queued: its processing gives way to uploads and
# catches up afterwards, and must not run during the next copy to disk.
queue_empty() {
    "$lake" object ls --store "$store" --status UPLOADED --status PROCESSING --limit 1 --json | tr -d ' \n' | grep -q '"objects":\[\]'
}
wait_processed() { until queue_empty; do sleep 0.2; done; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf "%-9s %7s %10s %10s %10s %12s %12s %7s %9s\n" shape files "lake s" "disk s" "lake f/s" "lake ms/file" "disk ms/file" ratio "RSS MiB"
for shape in ${SHAPES:-tree18k small6k files64k files1m}; do
    count=$(find "$src/$shape" -type f ! -name '.done*' | wc -l)
    lake_times=() disk_times=()
    for round in $(seq "$rounds"); do
        # New bytes every round (the first 16 of each file): the lake stores new blobs each
        # time instead of finding them stored already.
        python3 - "$src/$shape" "$round" <<'PY'
import os, sys
root, round_ = sys.argv[1], int(sys.argv[2])
for folder, _, names in os.walk(root):
    for name in names:
        if name.startswith(".done"):
            continue
        with open(os.path.join(folder, name), "r+b") as f:
            f.seek(8)
            f.write(round_.to_bytes(8, "little"))
PY
        sync
        disk_times+=("$(seconds fsync_copy "$src/$shape" "$disk/$shape-$round")")
        sync
        lake_times+=("$(seconds cp -r "$src/$shape" "$mnt/incoming/$shape-$round")")
        caught_up=$(seconds wait_processed)
        echo "  $shape round $round: lake $(echo "1000 * ${lake_times[-1]} / $count" | bc -l | cut -c1-6) ms/file," \
             "disk $(echo "1000 * ${disk_times[-1]} / $count" | bc -l | cut -c1-6) ms/file," \
             "ratio $(echo "${disk_times[-1]} / ${lake_times[-1]}" | bc -l | cut -c1-5);" \
             "everything processed $(echo "$caught_up" | cut -c1-5) s after the copy"
    done
    lake_s=$(printf '%s\n' "${lake_times[@]}" | median)
    disk_s=$(printf '%s\n' "${disk_times[@]}" | median)
    printf "%-9s %7d %10.2f %10.2f %10.0f %12.3f %12.3f %7.2f %9s\n" "$shape" "$count" "$lake_s" "$disk_s" \
        "$(echo "$count / $lake_s" | bc -l)" "$(echo "1000 * $lake_s / $count" | bc -l)" \
        "$(echo "1000 * $disk_s / $count" | bc -l)" "$(echo "$disk_s / $lake_s" | bc -l)" "$(rss)"
done
rm -rf "${mnt:?}/incoming/"*
sleep 2
end_rss=$(rss)
uploads=0
for shape in ${SHAPES:-tree18k small6k files64k files1m}; do
    uploads=$(( uploads + $(find "$src/$shape" -type f ! -name '.done*' | wc -l) * rounds ))
done
echo "daemon RSS: $start_rss MiB after mount, $end_rss MiB after $uploads uploads and removing the receipts (growth $(echo "$end_rss - $start_rss" | bc) MiB)"
