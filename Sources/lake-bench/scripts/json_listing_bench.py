#!/usr/bin/env python3
"""Objects printed as JSON: `lake object ls --json`, `lake wait --json`, `lake object show --json`
and `lake case ls --json` on stores of processed VTK files of several shapes, two `lake` builds
alternating.

    python3 json_listing_bench.py WORK ROUNDS before=/path/to/lake,after=.build/release/lake

Each shape is a store of OBJECTS files written by VTK's XML PolyData writer (appended raw), each
with FIELDS Float32 point fields of TUPLES values (distinct per file, so each is its own blob).
Prints, per command and build, the median wall time, ms per object and µs per field, and peak RSS.
"""
import os, shutil, subprocess, sys, time

import numpy as np
import vtk
from vtk.util import numpy_support

SHAPES = [  # (name, objects, fields per object, tuples per field, page size)
    ("100 objects x 10 fields (a default page)", 100, 10, 500, 100),
    ("1,000 objects x 50 fields (--limit 1000)", 1000, 50, 200, 1000),
    ("1 object x 20,000 fields", 1, 20000, 200, 100),
]


def write_file(path, seed, fields, tuples):
    rng = np.random.default_rng(seed)
    points = vtk.vtkPoints()
    points.SetData(numpy_support.numpy_to_vtk(rng.random((tuples, 3), dtype=np.float32), deep=True))
    poly = vtk.vtkPolyData()
    poly.SetPoints(points)
    for f in range(fields):
        array = numpy_support.numpy_to_vtk(rng.standard_normal(tuples).astype(np.float32), deep=True)
        array.SetName(f"f{f}")
        poly.GetPointData().AddArray(array)
    writer = vtk.vtkXMLPolyDataWriter()
    writer.SetFileName(path)
    writer.SetInputData(poly)
    writer.SetDataModeToAppended()
    writer.EncodeAppendedDataOff()
    writer.Write()


def timed(argv, env):
    """Wall time and peak RSS (MiB) of one run. The peak comes from GNU time, a small process:
    a child spawned by this one (which holds VTK and numpy) would report this one's size."""
    report = os.path.join(env["LAKE_STORE"], "..", "time.out")
    start = time.perf_counter()
    subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report, *argv], env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    with open(report) as f:
        return wall, int(f.read().split()[-1]) / 1024


def main():
    work, rounds, builds = sys.argv[1], int(sys.argv[2]), dict(b.split("=", 1) for b in sys.argv[3].split(","))
    builds = {name: os.path.abspath(path) for name, path in builds.items()}
    first = next(iter(builds.values()))
    os.makedirs(work, exist_ok=True)
    print(f"| shape | command | " + " | ".join(f"{n} s (ms/object, µs/field), MiB" for n in builds) + " |")
    print("|---|---|" + "---|" * len(builds))
    for name, objects, fields, tuples, page in SHAPES:
        store = os.path.join(work, f"store-{objects}-{fields}")
        files = os.path.join(work, f"files-{objects}-{fields}")
        shutil.rmtree(store, ignore_errors=True)
        shutil.rmtree(files, ignore_errors=True)
        os.makedirs(files)
        for i in range(objects):
            write_file(os.path.join(files, f"run{i:05}.vtp"), i, fields, tuples)
        env = dict(os.environ, LAKE_STORE=store)
        subprocess.run([first, "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        paths = sorted(os.path.join(files, f) for f in os.listdir(files))
        for at in range(0, len(paths), 200):
            subprocess.run([first, "upload", *paths[at:at + 200]], env=env, check=True, stdout=subprocess.DEVNULL)
        listed = subprocess.run([first, "object", "ls", "--limit", str(page)], env=env, check=True,
                                capture_output=True, text=True).stdout.split("\n")
        ids = [line.split()[0] for line in listed[1:] if line.startswith("obj-")]
        # One case per object for the first 200: a case holds its members' pooled provisions.
        cases = ids[:200] if objects >= 100 else []
        for n, object_id in enumerate(cases):
            subprocess.run([first, "case", "create", "--name", f"c{n}", "--object", object_id], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        commands = {
            f"object ls --json --limit {page}": ["object", "ls", "--json", "--limit", str(page)],
            f"wait --json ({min(len(ids), 100)} ids)": ["wait", "--json", *ids[:100]],
            "object show --json": ["object", "show", "--json", ids[0]],
        }
        if cases:
            commands[f"case ls --json ({len(cases)} cases)"] = ["case", "ls", "--json", "--limit", str(len(cases))]
        for label, arguments in commands.items():
            times = {n: [] for n in builds}
            peaks = {n: [] for n in builds}
            for _ in range(rounds):
                for n, path in builds.items():
                    wall, peak = timed([path, *arguments], env)
                    times[n].append(wall)
                    peaks[n].append(peak)
            shown = (len(cases) if label.startswith("case") else min(len(ids), page) if "ls" in label
                     else min(len(ids), 100) if "wait" in label else 1)
            cells = []
            for n in builds:
                t = float(np.median(times[n]))
                cells.append(f"{t:.3f} ({1000 * t / shown:.2f}, {1e6 * t / (shown * fields):.1f}), {np.median(peaks[n]):.0f}")
            print(f"| {name} | `{label}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
