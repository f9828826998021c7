#!/usr/bin/env python3
"""The baseline: VTK's own Python reader plus numpy computing the statistics Lake derives, as
../shared/design/stats.md defines them (per component and magnitude: count, NaNs, min, max,
mean, stdev, 128-bin histogram; NaNs left out, a tuple with a NaN left out of the magnitude).

    python3 vtk_numpy_stats.py FILE.vtu|FILE.vtp   -> prints the seconds spent reading + computing
"""
import sys
import time

import numpy as np
import vtk
from vtk.util import numpy_support as ns


def stats(v):
    v = v[~np.isnan(v)]
    if v.size == 0:
        return 0, None, None, None, None
    lo, hi = v.min(), v.max()
    first, last = (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)
    np.histogram(v, bins=128, range=(first, last))
    return v.size, lo, hi, v.mean(), v.std()


start = time.perf_counter()
reader = vtk.vtkXMLPolyDataReader() if sys.argv[1].endswith(".vtp") else vtk.vtkXMLUnstructuredGridReader()
reader.SetFileName(sys.argv[1])
reader.Update()
output = reader.GetOutput()
for data in (output.GetPointData(), output.GetCellData()):
    for i in range(data.GetNumberOfArrays()):
        a = ns.vtk_to_numpy(data.GetArray(i)).astype(np.float64)
        if a.ndim == 1:
            stats(a)
            stats(np.abs(a))
        else:
            for j in range(a.shape[1]):
                stats(a[:, j])
            stats(np.sqrt((a * a).sum(axis=1)))   # NaN where any component is NaN: left out
print(f"{time.perf_counter() - start:.4f}")
