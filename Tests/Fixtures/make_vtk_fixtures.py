#!/usr/bin/env python3
"""Writes the VTK fixtures with VTK's own XML writers, and the statistics numpy computes for them.

    pip install vtk numpy && python3 Tests/Fixtures/make_vtk_fixtures.py

Outputs Tests/Fixtures/vtk/*.vtu|*.vtp|*.vtm and expected.json (committed; CI does not run this).
Expected statistics follow docs/statistics.md: values widened to float64, NaNs left out, magnitude
= sqrt of the squares summed in component order (|x| for one component), population stdev,
numpy.histogram(v, bins=128, range=(min, max)) with the range widened by 0.5 when min == max.
The arrays are read back with VTK's reader, so expectations describe what the file holds.
"""
import json, math, os, sys
import numpy as np
import vtk
from vtk.util import numpy_support as ns

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vtk")
os.makedirs(HERE, exist_ok=True)
rng = np.random.default_rng(20261122)

def stats(v):
    v = np.asarray(v, dtype=np.float64)
    nan = np.isnan(v)
    used = v[~nan]
    if used.size == 0:
        return {"count": 0, "nan_count": int(nan.sum()), "min": None, "max": None, "mean": None, "stdev": None,
                "hist128": [0] * 128}
    lo, hi = float(used.min()), float(used.max())
    rlo, rhi = (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)
    hist, _ = np.histogram(used, bins=128, range=(rlo, rhi))
    # Compensated (exact) sums: numpy's pairwise mean loses small values next to ±2^63.
    mean = math.fsum(used) / used.size
    stdev = math.sqrt(math.fsum((used - mean) ** 2) / used.size)
    return {"count": int(used.size), "nan_count": int(nan.sum()), "min": lo, "max": hi,
            "mean": mean, "stdev": stdev, "hist128": [int(x) for x in hist]}

def magnitude(a):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1:
        return np.abs(a)
    squares = np.zeros(a.shape[0])
    for j in range(a.shape[1]):
        squares += a[:, j] * a[:, j]
    m = np.sqrt(squares)
    m[np.isnan(a).any(axis=1)] = np.nan
    return m

def field_expectation(name, assoc, arr, vtk_type_name):
    arr = np.asarray(arr)
    k = 1 if arr.ndim == 1 else arr.shape[1]
    comps = [arr] if k == 1 else [arr[:, j] for j in range(k)]
    names = ["X", "Y", "Z"] if k == 3 else (["XX", "XY", "XZ", "YX", "YY", "YZ", "ZX", "ZY", "ZZ"] if k == 9 else [str(j) for j in range(k)])
    return {"label": name, "element_assoc": assoc, "num_components": k, "num_tuples": int(arr.shape[0]),
            "data_type": vtk_type_name, "has_nan": bool(np.isnan(np.asarray(arr, dtype=np.float64)).any()),
            "component_stats": [{"name": names[j], "stats": stats(c)} for j, c in enumerate(comps)],
            "magnitude_stats": stats(magnitude(arr))}

VTK_TYPE_NAMES = {np.int8: "Int8", np.uint8: "UInt8", np.int16: "Int16", np.uint16: "UInt16", np.int32: "Int32",
                  np.uint32: "UInt32", np.int64: "Int64", np.uint64: "UInt64", np.float32: "Float32", np.float64: "Float64"}

DTYPE_NAMES = {np.dtype(t).name: n for t, n in VTK_TYPE_NAMES.items()}

def grid(n_points=40, n_cells=13):
    g = vtk.vtkUnstructuredGrid()
    pts = vtk.vtkPoints()
    pts.SetData(ns.numpy_to_vtk(rng.random((n_points, 3)), deep=True))
    g.SetPoints(pts)
    for c in range(n_cells):
        ids = vtk.vtkIdList()
        for i in range(4):
            ids.InsertNextId((c + i) % n_points)
        g.InsertNextCell(vtk.VTK_TETRA, ids)
    return g

def add(data, name, array):
    a = ns.numpy_to_vtk(array, deep=True)
    a.SetName(name)
    data.AddArray(a)

def typed_arrays(n):
    out = {}
    for t in VTK_TYPE_NAMES:
        if np.issubdtype(t, np.integer):
            info = np.iinfo(t)
            values = rng.integers(max(info.min, -10**6), min(info.max, 10**6), size=n, endpoint=True).astype(t)
            values[0], values[1] = info.min, info.max
        else:
            values = (rng.standard_normal(n) * 1e3).astype(t)
        out[VTK_TYPE_NAMES[t]] = values
    return out

def write(writer_class, data, path, mode, compressor=None, header64=False, big_endian=False):
    w = writer_class()
    w.SetInputData(data)
    w.SetFileName(path)
    {"ascii": w.SetDataModeToAscii, "binary": w.SetDataModeToBinary,
     "raw": w.SetDataModeToAppended, "base64": w.SetDataModeToAppended}[mode]()
    if mode == "raw": w.EncodeAppendedDataOff()
    if mode == "base64": w.EncodeAppendedDataOn()
    {None: w.SetCompressorTypeToNone, "zlib": w.SetCompressorTypeToZLib, "lz4": w.SetCompressorTypeToLZ4,
     "lzma": w.SetCompressorTypeToLZMA}[compressor]()
    if header64: w.SetHeaderTypeToUInt64()
    if big_endian: w.SetByteOrderToBigEndian()
    assert w.Write() == 1, path

def read_back(path):
    r = vtk.vtkXMLGenericDataObjectReader()
    r.SetFileName(path)
    r.Update()
    out = r.GetOutput()
    fields = []
    for assoc, data in (("POINT", out.GetPointData()), ("CELL", out.GetCellData())):
        for i in range(data.GetNumberOfArrays()):
            a = data.GetAbstractArray(i)
            if not isinstance(a, vtk.vtkDataArray):
                continue
            arr = ns.vtk_to_numpy(a)
            fields.append(field_expectation(a.GetName(), assoc, arr, DTYPE_NAMES[arr.dtype.name]))
    return fields

expected = {}

def record(name, writer_class, data, **kw):
    path = os.path.join(HERE, name)
    write(writer_class, data, path, **kw)
    expected[name] = read_back(path)

# 1. Every encoding × compressor × header × byte order, with every scalar type.
base = grid()
for tname, values in typed_arrays(40).items():
    add(base.GetPointData(), "p_" + tname, values)
vec = rng.standard_normal((13, 3))
add(base.GetCellData(), "velocity", vec)
for mode in ("ascii", "binary", "raw", "base64"):
    for comp in ([None] if mode == "ascii" else [None, "zlib", "lz4", "lzma"]):
        for header64 in (False, True):
            for big in (False, True):
                if mode == "ascii" and (header64 or big):
                    continue
                name = f"enc-{mode}-{comp or 'none'}-{'u64' if header64 else 'u32'}-{'be' if big else 'le'}.vtu"
                record(name, vtk.vtkXMLUnstructuredGridWriter, base, mode=mode, compressor=comp, header64=header64, big_endian=big)

# 2. Values that must round-trip: Int64 extremes, Float32 ascii tokens, NaNs, constant, 9 components, names.
special = grid(60, 20)
i64 = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, -1, 2**53 + 1] * 12, dtype=np.int64)
add(special.GetPointData(), "int64 extremes", i64)
u64 = np.array([np.iinfo(np.uint64).max, 0, 2**63, 7] * 15, dtype=np.uint64)
add(special.GetPointData(), "u64", u64)
f32 = (rng.standard_normal(60) * np.float32(1e-3)).astype(np.float32)
f32[5] = np.float32(3.4028235e38); f32[6] = np.float32(1.17549435e-38); f32[7] = np.float32(0.1)
add(special.GetPointData(), "f32 tokens", f32)
withnan = rng.standard_normal((60, 3))
withnan[3, 1] = np.nan; withnan[10, :] = np.nan
add(special.GetPointData(), "velocity with NaN", withnan)
add(special.GetPointData(), "constant", np.full(60, 2.5))
add(special.GetCellData(), "stress", rng.standard_normal((20, 9)))
allnan = np.full(20, np.nan)
add(special.GetCellData(), "all NaN", allnan)
add(special.GetCellData(), "température κ", rng.random(20))
fd = ns.numpy_to_vtk(np.arange(5, dtype=np.float64), deep=True); fd.SetName("TimeValue")
special.GetFieldData().AddArray(fd)
names = vtk.vtkStringArray(); names.SetName("labels"); names.InsertNextValue("a b"); names.SetNumberOfValues(60)
special.GetPointData().AddArray(names)
for mode in ("ascii", "binary", "raw"):
    record(f"special-{mode}.vtu", vtk.vtkXMLUnstructuredGridWriter, special, mode=mode, compressor="zlib" if mode != "ascii" else None)

# 3. An empty dataset, PolyData, named components.
empty = vtk.vtkUnstructuredGrid(); empty.SetPoints(vtk.vtkPoints())
add(empty.GetPointData(), "nothing", np.zeros(0))
record("empty.vtu", vtk.vtkXMLUnstructuredGridWriter, empty, mode="raw")
sphere = vtk.vtkSphereSource(); sphere.SetThetaResolution(12); sphere.SetPhiResolution(8); sphere.Update()
poly = sphere.GetOutput()
named = ns.numpy_to_vtk(rng.random((poly.GetNumberOfPoints(), 2)), deep=True); named.SetName("uv")
named.SetComponentName(0, "u"); named.SetComponentName(1, "v")
poly.GetPointData().AddArray(named)
add(poly.GetCellData(), "area", rng.random(poly.GetNumberOfCells()))
record("sphere.vtp", vtk.vtkXMLPolyDataWriter, poly, mode="raw", compressor="zlib")
record("sphere-ascii.vtp", vtk.vtkXMLPolyDataWriter, poly, mode="ascii")
for f in expected["sphere.vtp"] + expected["sphere-ascii.vtp"]:
    if f["label"] == "uv":
        f["component_stats"][0]["name"], f["component_stats"][1]["name"] = "u", "v"

# 4. A multi-block manifest with two blocks in a sub-folder (the SDK layout).
mb = vtk.vtkMultiBlockDataSet()
for i in range(2):
    g = grid(30 + i * 10, 10)
    add(g.GetPointData(), "p", rng.standard_normal(30 + i * 10) + i * 10)
    add(g.GetPointData(), "U", rng.standard_normal((30 + i * 10, 3)))
    add(g.GetCellData(), "rank", np.full(10, i, dtype=np.int32))
    mb.SetBlock(i, g)
w = vtk.vtkXMLMultiBlockDataWriter()
w.SetInputData(mb); w.SetFileName(os.path.join(HERE, "run.vtm")); w.SetDataModeToAppended(); w.EncodeAppendedDataOff()
assert w.Write() == 1
pooled = {}
for i in range(2):
    child = os.path.join(HERE, "run", f"run_{i}.vtu")
    for f in read_back(child):
        pooled.setdefault((f["label"], f["element_assoc"]), []).append(f)
r = vtk.vtkXMLMultiBlockDataReader(); r.SetFileName(os.path.join(HERE, "run.vtm")); r.Update()
blocks = [r.GetOutput().GetBlock(i) for i in range(2)]
vtm_fields = []
for (label, assoc), parts in pooled.items():
    arrays = [ns.vtk_to_numpy((b.GetPointData() if assoc == "POINT" else b.GetCellData()).GetArray(label)) for b in blocks]
    vtm_fields.append(field_expectation(label, assoc, np.concatenate(arrays), parts[0]["data_type"]))
expected["run.vtm"] = vtm_fields

with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(expected, f, separators=(",", ":"), sort_keys=True, allow_nan=False)
print(f"wrote {len(expected)} fixtures to {HERE}")
