#!/usr/bin/env python3
"""Writes a large VTU with VTK's XML writer for the processing benchmark.

    python3 make_big_vtu.py OUT.vtu POINTS [zlib]

Smooth fields on a lattice (so zlib compresses them as it does simulation output): Points
(Float32×3), p (Float32), U (Float32×3), T (Float64), and a Float32 cell field.
"""
import sys
import numpy as np
import vtk
from vtk.util import numpy_support as ns

out, n = sys.argv[1], int(sys.argv[2])
compress = len(sys.argv) > 3 and sys.argv[3] == "zlib"
side = int(round(n ** (1 / 3))) + 1
idx = np.arange(n)
x = (idx % side).astype(np.float32) * 0.01
y = ((idx // side) % side).astype(np.float32) * 0.01
z = (idx // (side * side)).astype(np.float32) * 0.01
grid = vtk.vtkUnstructuredGrid()
points = vtk.vtkPoints()
points.SetData(ns.numpy_to_vtk(np.stack([x, y, z], axis=1), deep=True))
grid.SetPoints(points)
n_cells = n // 4
cells = vtk.vtkCellArray()
offsets = np.arange(0, n_cells * 4 + 1, 4, dtype=np.int64)
conn = np.arange(n_cells * 4, dtype=np.int64)
cells.SetData(ns.numpy_to_vtk(offsets, deep=True, array_type=vtk.VTK_ID_TYPE), ns.numpy_to_vtk(conn, deep=True, array_type=vtk.VTK_ID_TYPE))
grid.SetCells(vtk.VTK_TETRA, cells)

def add(data, name, values):
    a = ns.numpy_to_vtk(values, deep=True)
    a.SetName(name)
    data.AddArray(a)

add(grid.GetPointData(), "p", (101325 + 500 * np.sin(x * 3) * np.cos(y * 2)).astype(np.float32))
add(grid.GetPointData(), "U", np.stack([np.cos(z), np.sin(x) * 0.1, y * 0.01], axis=1).astype(np.float32))
add(grid.GetPointData(), "T", (300 + 20 * np.sin(x + y + z)).astype(np.float64))
add(grid.GetCellData(), "vol", np.linspace(1e-6, 2e-6, n_cells).astype(np.float32))
w = vtk.vtkXMLUnstructuredGridWriter()
w.SetInputData(grid)
w.SetFileName(out)
w.SetDataModeToAppended()
w.EncodeAppendedDataOff()
if compress:
    w.SetCompressorTypeToZLib()
else:
    w.SetCompressorTypeToNone()
assert w.Write() == 1
