#!/usr/bin/env python3
"""Peak memory of `lake process` on shapes of file that are not the usual appended raw/zlib ones
(docs/benchmarks.md, "Peak memory, shape by shape"): every encoding VTK's XML writer has, blocks
of any size, very wide arrays and very many fields. Goal (issue 13): at most 128 MiB whatever the
file.

    python3 memory_shapes.py WORK [ROUNDS] [NAME=LAKE,...]      (release build of lake first)

Files are written with VTK's own writer into WORK. For each file, round and lake binary (several
builds alternate: `before=/old/lake,after=.build/release/lake`): a fresh store, `lake upload
--no-wait`, then `lake process` (peak RSS and wall time from /usr/bin/time). Prints medians per build: peak
MiB, its ratio to the data's uncompressed bytes, ms of wall time, and the status (a FAILED object
prints its reason).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys

import numpy as np
import vtk
from vtk.util import numpy_support as ns

work = os.path.abspath(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
default = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../.build/release/lake")
builds = [part.split("=", 1) for part in (sys.argv[3] if len(sys.argv) > 3 else "lake=" + default).split(",")]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(5)


def cloud(n, fields):
    data = vtk.vtkPolyData()
    points = vtk.vtkPoints()
    i = np.arange(n)
    xyz = np.zeros((n, 3), np.float32)
    xyz[:, 0] = (i % 4096) * 0.5
    points.SetData(ns.numpy_to_vtk(xyz, deep=True))
    data.SetPoints(points)
    raw = xyz.nbytes
    for name, values in fields:
        array = ns.numpy_to_vtk(values, deep=True)
        array.SetName(name)
        data.GetPointData().AddArray(array)
        raw += values.nbytes
    return data, raw


def write(name, data, mode, compressor=None, block=None, encode=False):
    writer = vtk.vtkXMLPolyDataWriter()
    writer.SetFileName(os.path.join(work, name))
    writer.SetInputData(data)
    {"ascii": writer.SetDataModeToAscii, "binary": writer.SetDataModeToBinary, "appended": writer.SetDataModeToAppended}[mode]()
    writer.SetEncodeAppendedData(1 if encode else 0)
    if compressor:
        getattr(writer, "SetCompressorTypeTo" + compressor)()
        writer.SetCompressionLevel(1)
    else:
        writer.SetCompressorTypeToNone()
    if block:
        writer.SetBlockSize(block)
    assert writer.Write() == 1


def smooth(n):
    i = np.arange(n)
    return ((i * 7919) % 1000).astype(np.float32) * 0.25 - 40


shapes = []
n = 3_000_000
data, raw = cloud(n, [("p", smooth(n)), ("U", rng.standard_normal((n, 3)))])
for name, args in [("ascii", ("ascii",)), ("inline base64", ("binary",)), ("inline base64 zlib", ("binary", "ZLib")),
                   ("appended base64", ("appended", None, None, True)), ("appended LZ4", ("appended", "LZ4"))]:
    file = name.replace(" ", "-") + ".vtp"
    write(file, data, *args)
    shapes.append((name, file, raw))
n = 12_000_000
data, raw = cloud(n, [("pressure", smooth(n)), ("region", (np.arange(n) % 3 - 1).astype(np.int64))])
for compressor, block in [("ZLib", 32 << 10), ("ZLib", 64 << 20), ("ZLib", 256 << 20), ("LZ4", 32 << 10), ("LZ4", 256 << 20),
                          ("LZMA", 256 << 20)]:
    file = "%s-%dKiB-blocks.vtp" % (compressor, block >> 10)
    write(file, data, "appended", compressor, block)
    size = "%d KiB" % (block >> 10) if block < 1 << 20 else "%d MiB" % (block >> 20)
    shapes.append(("12 M points, %s, blocks of %s" % (compressor, size), file, raw))
for components, tuples in [(500, 20_000), (4096, 2_000)]:
    data, raw = cloud(tuples, [("wide", rng.standard_normal((tuples, components)).astype(np.float32))])
    write("wide-%d.vtp" % components, data, "appended")
    shapes.append(("%d components × %d tuples" % (components, tuples), "wide-%d.vtp" % components, raw))
for count, tuples in [(3_000, 2_000), (20_000, 200)]:
    data, raw = cloud(tuples, [("f%d" % k, rng.standard_normal(tuples).astype(np.float32)) for k in range(count)])
    write("fields-%d.vtp" % count, data, "appended")
    shapes.append(("%d fields × %d tuples" % (count, tuples), "fields-%d.vtp" % count, raw))


def process(lake, file):
    store = os.path.join(work, "store")
    shutil.rmtree(store, ignore_errors=True)
    subprocess.run([lake, "init", "--store", store], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([lake, "upload", "--store", store, "--no-wait", os.path.join(work, file)], check=True, stdout=subprocess.DEVNULL)
    # Through /usr/bin/time: a child forked straight from this Python (holding the shapes' arrays)
    # would inherit its memory high-water mark, which Linux keeps across exec.
    timed = subprocess.run(["/usr/bin/time", "-f", "%M %e", lake, "process", "--store", store],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    peak_kib, wall = timed.stderr.decode().strip().splitlines()[-1].split()
    listed = json.loads(subprocess.run([lake, "object", "ls", "--store", store, "--json"], check=True, capture_output=True).stdout)
    obj = listed["objects"][0]
    return int(peak_kib) / 1024, float(wall), obj["status"] + ("" if obj["status"] == "READY" else ": " + str(obj.get("failure_reason")))


print("| file | size | uncompressed | " + " | ".join("peak RSS (%s) | ÷ uncompressed | wall | status" % b for b, _ in builds) + " |")
print("|---|---|---|" + "---|---|---|---|" * len(builds))
for name, file, raw in shapes:
    runs = {b: [] for b, _ in builds}
    for _ in range(rounds):
        for b, lake in builds:
            runs[b].append(process(lake, file))
    size = os.path.getsize(os.path.join(work, file))
    cells = []
    for b, _ in builds:
        peak = statistics.median(r[0] for r in runs[b])
        wall = statistics.median(r[1] for r in runs[b])
        cells.append("%.0f MiB | %.2f | %.0f ms | %s" % (peak, peak * 1048576 / raw, wall * 1000, runs[b][-1][2]))
    print("| %s | %.0f MB | %.0f MB | %s |" % (name, size / 1e6, raw / 1e6, " | ".join(cells)), flush=True)
