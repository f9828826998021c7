#!/usr/bin/env python3
"""Processing, shape by shape (docs/benchmarks.md): `lake process` against VTK's reader + numpy
computing the same statistics, and against the MD5 of the same file (the one cost Lake cannot
shrink), on every file make_shapes.py writes, alternating within each round.

    python3 shapes_bench.py WORK [ROUNDS] [TUPLES]      (release build of lake first)

For each file and round: a fresh store, `lake upload --no-wait`, then `lake process` timed from
outside (wall, CPU = user + system, peak RSS from wait4); `vtk_numpy_stats.py` (its own timer
around read + statistics; CPU from wait4 minus the CPU of a Python that only imports numpy and
vtk); hashlib's MD5 of the file. Files are read from the page cache by all three. Medians.

Columns: lake/np = VTK+numpy wall ÷ lake wall (goal ≥ 2); lake/md5 = lake wall ÷ MD5 wall (goal
≤ 1.3 on raw files); ns/v/p = CPU time spent on anything but the MD5, per analysed value (every
component and the magnitude of every field) per statistics pass (two) — Lake's includes start-up,
parsing, decompression and the catalog; numpy's includes VTK's reading; peak/raw = Lake's peak
RSS ÷ the uncompressed (raw) file (goal ≤ 0.25, and ≤ 128 MiB).
"""
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

work = os.path.abspath(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
tuples = sys.argv[3] if len(sys.argv) > 3 else str(151 ** 3)
here = os.path.dirname(os.path.abspath(__file__))
lake = os.path.join(here, "..", "..", "..", ".build", "release", "lake")
if not os.access(lake, os.X_OK):
    sys.exit("build first: swift build -c release")
shapes = os.path.join(work, "shapes")
store = os.path.join(work, "store")


def timed(argv, capture=False):
    """Runs argv; returns (wall s, cpu s, peak RSS MiB, stdout)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE if capture else subprocess.DEVNULL, stderr=subprocess.PIPE)
    out = child.stdout.read() if capture else b""
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    err = child.stderr.read()
    if status != 0:
        sys.exit(f"{' '.join(argv)} failed: {err.decode(errors='replace')}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, out.decode()


def md5_seconds(path):
    start = time.perf_counter()
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return time.perf_counter() - start


listing = subprocess.run([sys.executable, os.path.join(here, "make_shapes.py"), shapes, tuples],
                         check=True, capture_output=True, text=True).stdout.split("\n")
files = [line.split() for line in listing if line.strip()]
imports_cpu = statistics.median(timed([sys.executable, "-c", "import numpy, vtk; from vtk.util import numpy_support"])[1] for _ in range(3))

header = f"{'file':22} {'MB':>6} {'values':>10} {'lake s':>7} {'cpu s':>6} {'np s':>6} {'md5 s':>6} {'lake/np':>7} {'lake/md5':>8} {'ns/v/p':>6} {'np ns':>6} {'peak MiB':>8} {'peak/raw':>8}"
print(header, flush=True)
for name, _, values in files:
    path = os.path.join(shapes, name)
    values = int(values)
    raw_size = os.path.getsize(path.replace("-zlib.", "-raw."))
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass
    lake_wall, lake_cpu, lake_peak, np_wall, np_cpu, md5s = [], [], [], [], [], []
    for round_ in range(rounds):
        shutil.rmtree(store, ignore_errors=True)
        subprocess.run([lake, "init", "--store", store], check=True, capture_output=True)
        subprocess.run([lake, "upload", path, "--store", store, "--no-wait"], check=True, capture_output=True)
        wall, cpu, peak, _ = timed([lake, "process", "--store", store])
        if round_ == 0:
            listed = json.loads(subprocess.run([lake, "object", "ls", "--json", "--store", store], check=True,
                                               capture_output=True, text=True).stdout)
            status = listed["objects"][0]["status"]
            if status != "READY":
                sys.exit(f"{name} was not processed: {status} {listed['objects'][0].get('failure_reason')}")
        lake_wall.append(wall), lake_cpu.append(cpu), lake_peak.append(peak)
        _, cpu, _, out = timed([sys.executable, os.path.join(here, "vtk_numpy_stats.py"), path], capture=True)
        np_wall.append(float(out.strip())), np_cpu.append(cpu - imports_cpu)
        md5s.append(md5_seconds(path))
    lw, lc, nw, nc, m = (statistics.median(x) for x in (lake_wall, lake_cpu, np_wall, np_cpu, md5s))
    peak = max(lake_peak)
    print(f"{name:22} {os.path.getsize(path) / 1e6:6.0f} {values:10d} {lw:7.2f} {lc:6.2f} {nw:6.2f} {m:6.2f} "
          f"{nw / lw:7.2f} {lw / m:8.2f} {(lc - m) / (2 * values) * 1e9:6.1f} {nc / (2 * values) * 1e9:6.1f} "
          f"{peak:8.0f} {peak * 2**20 / raw_size:8.3f}", flush=True)
shutil.rmtree(store, ignore_errors=True)
