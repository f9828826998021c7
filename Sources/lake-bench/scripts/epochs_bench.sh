#!/usr/bin/env bash
# A daemon left running while a loader reads the same files epoch after epoch (docs/benchmarks.md,
# "Epoch after epoch"): does a pass cost the same at the hundredth epoch as at the second, and
# does the daemon's memory stay put?
#
#   bash Sources/lake-bench/scripts/epochs_bench.sh WORK [FILES] [EPOCHS] [COLD_EPOCHS]
#
# FILES (default 2000) files of 4 KiB (FILE_BYTES=N for another size) are copied into a fresh lake's incoming/ (WORK/store,
# mounted read-write at WORK/mnt), processed, grouped into cases of at most 1,000 and one frozen
# dataset; the lake is mounted read-only too (WORK/ro) and the dataset on its own (WORK/ds), and
# an account made for the bench (`lakebench`, useradd) mounts the dataset itself (WORK/acct,
# served by the store's daemon; /dev/fuse is made 0666 for the run and put back after).
# Each tree is read whole (readall.c: open, read, close per file) EPOCHS times (default 100)
# warm, then COLD_EPOCHS times (default 10) with `drop_caches` before each pass (the kernel then
# forgets every inode, which the daemon's caches must follow). Printed per tree: µs per file at
# epochs 2-6 and at the last five (medians), their ratio (1.0: no drift), and the serving
# daemon's resident memory after the first pass and after the last. The same files on disk are
# read the same way for reference. Needs root, cc, and the release build (LAKE=PATH for another).
set -euo pipefail

work=${1:?usage: epochs_bench.sh WORK [FILES] [EPOCHS] [COLD_EPOCHS]}
files=${2:-2000}
epochs=${3:-100}
cold_epochs=${4:-10}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
lake=${LAKE:-$repo/.build/release/lake}
[ -x "$lake" ] || { echo "build first: swift build -c release" >&2; exit 1; }
mkdir -p "$work"
work=$(cd "$work" && pwd)
store=$work/store mnt=$work/mnt ds=$work/ds ro=$work/ro acct=$work/acct disk=$work/disk lists=$work/lists
export LAKE_STORE=$store
account=lakebench
id -u "$account" >/dev/null 2>&1 || useradd --no-create-home --shell /usr/sbin/nologin "$account"
as_account="setpriv --reuid=$(id -u "$account") --regid=$(id -g "$account") --clear-groups"
fuse_mode=$(stat -c %a /dev/fuse)

cleanup() {
    $as_account "$lake" unmount "$acct" >/dev/null 2>&1 || fusermount3 -uz "$acct" 2>/dev/null || true
    for m in "$ds" "$ro" "$mnt"; do "$lake" unmount "$m" >/dev/null 2>&1 || fusermount3 -uz "$m" 2>/dev/null || true; done
    chmod "$fuse_mode" /dev/fuse
}
trap cleanup EXIT
cleanup
rm -rf "$store" "$lists" "$disk"
mkdir -p "$mnt" "$ds" "$ro" "$acct" "$acct-home" "$lists"
chmod 755 "$work"
chown "$account:" "$acct" "$acct-home"
cc -O2 -o "$work/readall" "$repo/Sources/lake-bench/scripts/readall.c"

python3 - "$disk" "$files" "${FILE_BYTES:-4096}" <<'PY'
import os, sys
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    sub = os.path.join(root, "d%03d" % (i // 1000))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "e%06d.bin" % i), "wb") as f:
        f.write(os.urandom(size))
PY
(cd "$disk" && find . -type f -name '*.bin' | sort | sed "s|^\./|$disk/|") > "$lists/disk"

"$lake" init >/dev/null
"$lake" mount "$mnt" >/dev/null
cp -r "$disk" "$mnt/incoming/epochs"
while "$lake" object ls --json --limit 1000000 | python3 -c '
import json, sys
sys.exit(0 if any(o["status"] in ("UPLOADED", "PROCESSING") for o in json.load(sys.stdin)["objects"]) else 1)'; do
    sleep 1
done
"$lake" object ls --json --limit 1000000 > "$lists/objects.json"
python3 - "$lists" "$lake" <<'PY'
import json, os, subprocess, sys
lists, lake = sys.argv[1], sys.argv[2]
objects = json.load(open(os.path.join(lists, "objects.json")))["objects"]
ids = {o["name"]: o["id"] for o in objects if o["status"] == "READY"}
names = [os.path.basename(p.strip()) for p in open(os.path.join(lists, "disk"))]
missing = [n for n in names if n not in ids]
if missing:
    sys.exit("not stored and READY: %s …" % missing[:3])
cases, members = [], []
for start in range(0, len(names), 1000):
    args = [lake, "case", "create", "--name", "epochs-%d" % (start // 1000), "--json"]
    for n in names[start:start + 1000]:
        args += ["--object", "%s:%s" % (ids[n], n[:-4])]
    case = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    cases.append(case["id"])
    members += ["cases/%s/%s/file" % (case["id"], n[:-4]) for n in names[start:start + 1000]]
open(os.path.join(lists, "objects"), "w").writelines("objects/%s/file\n" % ids[n] for n in names)
open(os.path.join(lists, "members"), "w").writelines(m + "\n" for m in members)
open(os.path.join(lists, "cases"), "w").writelines(c + "\n" for c in cases)
dataset = json.loads(subprocess.run([lake, "dataset", "create", "--name", "epochs-bench", "--cases-from",
                                     os.path.join(lists, "cases"), "--json"], check=True, capture_output=True, text=True).stdout)
subprocess.run([lake, "dataset", "freeze", dataset["id"]], check=True, capture_output=True)
open(os.path.join(lists, "dataset"), "w").write(dataset["id"])
PY
dataset=$(cat "$lists/dataset")
"$lake" mount -o ro "$ro" >/dev/null
"$lake" mount --dataset "$dataset" "$ds" >/dev/null
"$lake" dataset chgrp "$(id -gn "$account")" "$dataset" >/dev/null
chmod 666 /dev/fuse
HOME=$acct-home $as_account "$lake" mount --dataset "$dataset" "$acct" --store "$store" >/dev/null
sed "s|^|$mnt/|" "$lists/objects" > "$lists/rw-objects"
sed "s|^|$mnt/datasets/$dataset/|" "$lists/members" > "$lists/rw-datasets"
sed "s|^|$ro/|" "$lists/objects" > "$lists/ro-objects"
sed "s|^|$ro/datasets/$dataset/|" "$lists/members" > "$lists/ro-datasets"
sed "s|^|$ds/|" "$lists/members" > "$lists/dataset-mount"
sed "s|^|$acct/|" "$lists/members" > "$lists/account-mount"

# The daemon serving a mount point (its pid from `lake status`'s node lines is not per mount).
daemon() { pgrep -f -- " mount (.* )?$1( |$)" | head -1; }
rss() { [ -n "$1" ] && awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" || echo -; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
# EPOCHS passes (cold: drop_caches before each); prints µs per file of each pass. The account's
# mount is its alone (no allow_other): its files are read as the account.
passes() {
    local list=$1 count=$2 cold=$3 reader=
    [ "$list" = "$lists/account-mount" ] && reader=$as_account
    for _ in $(seq "$count"); do
        if [ "$cold" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
        $reader "$work/readall" < "$list" | awk -v n="$files" '{printf "%.2f\n", $1 / n * 1e6}'
    done
}
report() {
    local name=$1 list=$2 mountpoint=$3 count=$4 cold=$5
    local pid before after times early late
    pid=$([ -n "$mountpoint" ] && daemon "$mountpoint" || true)
    times=$(passes "$list" 1 "$cold")
    before=$(rss "$pid")
    times=$(echo "$times"; passes "$list" $((count - 1)) "$cold")
    after=$(rss "$pid")
    early=$(echo "$times" | sed -n '2,6p' | median)
    late=$(echo "$times" | tail -5 | median)
    printf "%-16s %-5s %6s %10s %10s %6.2f %9s %9s\n" "$name" "$([ "$cold" = 1 ] && echo cold || echo warm)" "$count" \
        "$early" "$late" "$(echo "$late $early" | awk '{print $1 / $2}')" "$before" "$after"
}

printf "%-16s %-5s %6s %10s %10s %6s %9s %9s\n" tree cache epochs "µs 2-6" "µs last 5" drift "RSS MiB 1" "last"
report disk "$lists/disk" "" "$epochs" 0
for tree in rw-objects rw-datasets; do report "$tree" "$lists/$tree" "$mnt" "$epochs" 0; done
for tree in ro-objects ro-datasets; do report "$tree" "$lists/$tree" "$ro" "$epochs" 0; done
report dataset-mount "$lists/dataset-mount" "$ds" "$epochs" 0
report account-mount "$lists/account-mount" "$acct" "$epochs" 0
report disk "$lists/disk" "" "$cold_epochs" 1
for tree in rw-objects ro-objects; do report "$tree" "$lists/$tree" "$([ "$tree" = rw-objects ] && echo "$mnt" || echo "$ro")" "$cold_epochs" 1; done
report dataset-mount "$lists/dataset-mount" "$ds" "$cold_epochs" 1
report account-mount "$lists/account-mount" "$acct" "$cold_epochs" 1
