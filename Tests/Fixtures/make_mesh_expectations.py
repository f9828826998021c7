#!/usr/bin/env python3
"""What VTK's own readers say of each VTU/VTP fixture's mesh: points, cells, bounds, and cells
per VTK cell type number. Written to vtk/expected-mesh.json, which the mesh summary tests
(Tests/LakeFormatsTests/MeshSummaryTests.swift) compare Lake's reading with.

    python3 Tests/Fixtures/make_mesh_expectations.py     # needs the vtk module (pip install vtk)
"""
import collections
import json
import os
import sys

import vtk

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vtk")


def read(path):
    reader = vtk.vtkXMLUnstructuredGridReader() if path.endswith(".vtu") else vtk.vtkXMLPolyDataReader()
    reader.SetFileName(path)
    reader.Update()
    if reader.GetErrorCode() != 0:
        raise RuntimeError(f"VTK could not read {path}")
    return reader.GetOutput()


def expectation(path):
    data = read(path)
    points, cells = data.GetNumberOfPoints(), data.GetNumberOfCells()
    types = collections.Counter(data.GetCellType(i) for i in range(cells))
    bounds = None
    if points > 0:
        b = data.GetBounds()
        bounds = {"min": [b[0], b[2], b[4]], "max": [b[1], b[3], b[5]]}
    return {"points": points, "cells": cells, "bounds": bounds, "cell_types": {str(k): v for k, v in sorted(types.items())}}


def mixed_fixtures():
    """A VTU of every common cell shape and a VTP of vertices, lines, polylines, triangles, quads,
    a pentagon and a strip (written once, by VTK's writers; kept in git)."""
    grid = vtk.vtkUnstructuredGrid()
    pts = vtk.vtkPoints()
    for i in range(27):
        pts.InsertNextPoint(i % 3 - 1.5, (i // 3) % 3 * 2.0, i // 9 * -0.25)
    grid.SetPoints(pts)
    shapes = [(vtk.VTK_TETRA, [0, 1, 3, 9]), (vtk.VTK_HEXAHEDRON, [0, 1, 4, 3, 9, 10, 13, 12]),
              (vtk.VTK_WEDGE, [0, 1, 3, 9, 10, 12]), (vtk.VTK_PYRAMID, [0, 1, 4, 3, 9]),
              (vtk.VTK_TRIANGLE, [0, 1, 3]), (vtk.VTK_QUAD, [0, 1, 4, 3]), (vtk.VTK_LINE, [0, 26]),
              (vtk.VTK_VERTEX, [5]), (vtk.VTK_TETRA, [1, 2, 4, 10]), (vtk.VTK_HEXAHEDRON, [9, 10, 13, 12, 18, 19, 22, 21])]
    for kind, ids in shapes:
        grid.InsertNextCell(kind, len(ids), ids)
    writer = vtk.vtkXMLUnstructuredGridWriter()
    writer.SetFileName(os.path.join(here, "mixed-cells.vtu"))
    writer.SetInputData(grid)
    writer.SetCompressorTypeToZLib()
    writer.SetDataModeToAppended()
    writer.Write()

    poly = vtk.vtkPolyData()
    poly.SetPoints(pts)
    verts, lines, polys, strips = vtk.vtkCellArray(), vtk.vtkCellArray(), vtk.vtkCellArray(), vtk.vtkCellArray()
    for group, cells in ((verts, [[0], [1, 2]]), (lines, [[0, 1], [3, 4, 5]]), (polys, [[0, 1, 3], [1, 2, 5, 4], [6, 7, 8, 17, 26]]),
                         (strips, [[9, 10, 12, 13, 15]])):
        for ids in cells:
            group.InsertNextCell(len(ids), ids)
    poly.SetVerts(verts)
    poly.SetLines(lines)
    poly.SetPolys(polys)
    poly.SetStrips(strips)
    writer = vtk.vtkXMLPolyDataWriter()
    writer.SetFileName(os.path.join(here, "mixed-cells.vtp"))
    writer.SetInputData(poly)
    writer.SetDataModeToBinary()
    writer.Write()


if not os.path.exists(os.path.join(here, "mixed-cells.vtu")):
    mixed_fixtures()

expected = {}
for folder in (here, os.path.join(here, "run")):
    for name in sorted(os.listdir(folder)):
        if name.endswith((".vtu", ".vtp")):
            relative = os.path.relpath(os.path.join(folder, name), here)
            expected[relative] = expectation(os.path.join(folder, name))
with open(os.path.join(here, "expected-mesh.json"), "w") as f:
    json.dump(expected, f, indent=1, sort_keys=True, allow_nan=False)
print(f"{len(expected)} files", file=sys.stderr)
