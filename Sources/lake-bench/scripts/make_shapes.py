#!/usr/bin/env python3
"""Writes the processing benchmark's shapes with VTK's own XML writers (docs/benchmarks.md,
"Processing, shape by shape").

    python3 make_shapes.py OUT_DIR [TUPLES]      (TUPLES defaults to 3,442,951 = 151^3)

For every shape two files: appended raw (`<shape>-raw.vt?`) and zlib-compressed (`<shape>-zlib.vt?`),
UInt64 headers, as VTK 9 writes by default. Shapes (a-e and g on a cloud of TUPLES points with no
cells, so the field's bytes dominate the file; f on a grid with many cells; h the file the old
processing benchmark used):

  a-f32      one Float32 scalar          b-f64     one Float64 scalar
  c-vec3     a Float32 x 3 vector        d-tensor  a 9-component Float32 tensor
  e-ints     an Int32 and an Int64 field with few distinct values (region ids, flags)
  f-cells    vtkRTAnalyticSource 0..150 through vtkAppendFilter: 3.4 M points, 3.4 M voxels;
             RTData (Float32) and a Float32 x 3 vector on points, a Float32 and an Int32 on cells
  g-many     50 Float32 fields of TUPLES/50 tuples each
  h-mixed    make_big_vtu.py's file: p Float32, U Float32 x 3, T Float64, a Float32 cell field

Values are smooth functions of position with a little noise, so zlib compresses them as it does
simulation output; a few values are NaN in a-f32 and c-vec3 (they are left out of statistics).
Prints one line per file: name, tuples, analysed values (components plus magnitude, every field).
"""
import os
import subprocess
import sys

import numpy as np
import vtk
from vtk.util import numpy_support as ns

out_dir = sys.argv[1]
tuples = int(sys.argv[2]) if len(sys.argv) > 2 else 151 ** 3
os.makedirs(out_dir, exist_ok=True)
rng = np.random.default_rng(7)


def cloud(n):
    data = vtk.vtkPolyData()
    side = int(round(n ** (1 / 3))) + 1
    i = np.arange(n)
    xyz = np.stack([(i % side), (i // side) % side, i // (side * side)], axis=1).astype(np.float32) * 0.01
    points = vtk.vtkPoints()
    points.SetData(ns.numpy_to_vtk(xyz, deep=True))
    data.SetPoints(points)
    return data, xyz


def add(attributes, name, values, array_type=None):
    array = ns.numpy_to_vtk(values, deep=True, array_type=array_type) if array_type else ns.numpy_to_vtk(values, deep=True)
    array.SetName(name)
    attributes.AddArray(array)


def analysed(attributes_list):
    """Values every statistic pass reads: each component of each field, plus its magnitude."""
    total = 0
    for attributes in attributes_list:
        for k in range(attributes.GetNumberOfArrays()):
            a = attributes.GetArray(k)
            total += a.GetNumberOfTuples() * (a.GetNumberOfComponents() + 1)
    return total


def write(name, data, kind):
    values = analysed([data.GetPointData(), data.GetCellData()])
    for variant in ("raw", "zlib"):
        path = os.path.join(out_dir, f"{name}-{variant}.{kind}")
        marker = path + ".done"
        if not os.path.exists(marker):
            writer = vtk.vtkXMLPolyDataWriter() if kind == "vtp" else vtk.vtkXMLUnstructuredGridWriter()
            writer.SetInputData(data)
            writer.SetFileName(path)
            writer.SetDataModeToAppended()
            writer.EncodeAppendedDataOff()
            writer.SetHeaderTypeToUInt64()
            if variant == "zlib":
                writer.SetCompressorTypeToZLib()
            else:
                writer.SetCompressorTypeToNone()
            assert writer.Write() == 1, path
            open(marker, "w").close()
        print(f"{os.path.basename(path)} {data.GetNumberOfPoints()} {values}", flush=True)


def smooth(xyz, scale=1.0):
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    return scale * (np.sin(x * 3.1) * np.cos(y * 1.7) + 0.3 * z) + rng.normal(0, 1e-3 * scale, len(x))


def with_nans(values, count=17):
    values = values.copy()
    values.flat[rng.choice(values.size, count, replace=False)] = np.nan
    return values


data, xyz = cloud(tuples)
add(data.GetPointData(), "p", with_nans((101325 + 500 * smooth(xyz)).astype(np.float32)))
write("a-f32", data, "vtp")

data, xyz = cloud(tuples)
add(data.GetPointData(), "T", (300 + 20 * smooth(xyz)).astype(np.float64))
write("b-f64", data, "vtp")

data, xyz = cloud(tuples)
add(data.GetPointData(), "U", with_nans(np.stack([smooth(xyz, 10), smooth(xyz[:, ::-1], 2), xyz[:, 2]], axis=1).astype(np.float32)))
write("c-vec3", data, "vtp")

data, xyz = cloud(tuples)
base = smooth(xyz)
add(data.GetPointData(), "stress", np.stack([base * (1 + 0.1 * j) + j for j in range(9)], axis=1).astype(np.float32))
write("d-tensor", data, "vtp")

data, xyz = cloud(tuples)
region = (np.floor(xyz[:, 0] * 4) % 7).astype(np.int32)
add(data.GetPointData(), "region", region)
add(data.GetPointData(), "flags", (region.astype(np.int64) << 33) | (xyz[:, 1] > 0.5).astype(np.int64))
write("e-ints", data, "vtp")

source = vtk.vtkRTAnalyticSource()
side = round(tuples ** (1 / 3)) - 1
source.SetWholeExtent(0, side, 0, side, 0, side)
append = vtk.vtkAppendFilter()
append.SetInputConnection(source.GetOutputPort())
append.Update()
grid = vtk.vtkUnstructuredGrid()
grid.DeepCopy(append.GetOutput())
points = ns.vtk_to_numpy(grid.GetPoints().GetData()).astype(np.float32) * 0.01
add(grid.GetPointData(), "velocity", np.stack([smooth(points), smooth(points[:, ::-1]), points[:, 0]], axis=1).astype(np.float32))
cells = grid.GetNumberOfCells()
add(grid.GetCellData(), "volume", (1e-6 * (1 + 0.01 * np.sin(np.arange(cells) * 1e-4))).astype(np.float32))
add(grid.GetCellData(), "zone", (np.arange(cells) // 100_000 % 11).astype(np.int32))
write("f-cells", grid, "vtu")

data, xyz = cloud(tuples // 50)
for j in range(50):
    add(data.GetPointData(), f"f{j:02d}", (j + smooth(xyz, 1 + j)).astype(np.float32))
write("g-many", data, "vtp")

for variant in ("raw", "zlib"):
    path = os.path.join(out_dir, f"h-mixed-{variant}.vtu")
    if not os.path.exists(path + ".done"):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_big_vtu.py")
        subprocess.run([sys.executable, script, path, str(tuples)] + (["zlib"] if variant == "zlib" else []), check=True)
        open(path + ".done", "w").close()
    n_cells = tuples // 4
    print(f"h-mixed-{variant}.vtu {tuples} {tuples * 2 + tuples * 4 + tuples * 2 + n_cells * 2}", flush=True)
