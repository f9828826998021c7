#!/usr/bin/env python3
"""Writes docs/examples/data/wave.vtu, the quick start's VTK example, with VTK's own writer.

    python3 docs/examples/make_example_vtu.py docs/examples/data/wave.vtu

A 9 × 9 × 9 grid of points (512 hexahedra) from vtkRTAnalyticSource through vtkAppendFilter, with
a Float32 `pressure` on points, a Float32 × 3 `velocity` on points and a Float64 `temperature` on
cells: after the quick start, `lake object show` and `getfattr -n user.lake.provisions` show each
field's statistics and histogram.
"""
import sys

import numpy as np
import vtk
from vtk.util import numpy_support


def main(path):
    source = vtk.vtkRTAnalyticSource()
    source.SetWholeExtent(-4, 4, -4, 4, -4, 4)
    append = vtk.vtkAppendFilter()
    append.AddInputConnection(source.GetOutputPort())
    append.Update()
    grid = append.GetOutput()
    points = numpy_support.vtk_to_numpy(grid.GetPoints().GetData()).astype(np.float64)
    pressure = grid.GetPointData().GetArray("RTData")
    pressure.SetName("pressure")
    x, y, z = points[:, 0], points[:, 1], points[:, 2]
    velocity = np.stack([-y, x, 0.1 * z], axis=1).astype(np.float32)
    array = numpy_support.numpy_to_vtk(velocity, deep=True)
    array.SetName("velocity")
    grid.GetPointData().AddArray(array)
    centers = vtk.vtkCellCenters()
    centers.SetInputData(grid)
    centers.Update()
    middle = numpy_support.vtk_to_numpy(centers.GetOutput().GetPoints().GetData()).astype(np.float64)
    temperature = numpy_support.numpy_to_vtk(300.0 + np.linalg.norm(middle, axis=1), deep=True)
    temperature.SetName("temperature")
    grid.GetCellData().AddArray(temperature)
    writer = vtk.vtkXMLUnstructuredGridWriter()
    writer.SetFileName(path)
    writer.SetInputData(grid)
    writer.SetDataModeToAppended()
    writer.SetCompressorTypeToZLib()
    writer.Write()


if __name__ == "__main__":
    main(sys.argv[1])
