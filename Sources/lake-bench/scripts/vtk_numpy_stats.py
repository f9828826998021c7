#!/usr/bin/env python3
"""The baseline: VTK's own Python reader plus numpy computing the statistics Lake derives
(per component and magnitude: count, NaNs, min, max, mean, stdev, 128-bin histogram).

    python3 vtk_numpy_stats.py FILE.vtu     -> prints the seconds spent reading + computing
"""
import sys, time
import numpy as np
import vtk
from vtk.util import numpy_support as ns

def stats(v):
    v = v[~np.isnan(v)]
    lo, hi = v.min(), v.max()
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    np.histogram(v, bins=128, range=(lo, hi))
    return v.size, v.min(), v.max(), v.mean(), v.std()

start = time.perf_counter()
r = vtk.vtkXMLUnstructuredGridReader()
r.SetFileName(sys.argv[1])
r.Update()
out = r.GetOutput()
for data in (out.GetPointData(), out.GetCellData()):
    for i in range(data.GetNumberOfArrays()):
        a = ns.vtk_to_numpy(data.GetArray(i)).astype(np.float64)
        if a.ndim == 1:
            stats(a)
            stats(np.abs(a))
        else:
            for j in range(a.shape[1]):
                stats(a[:, j])
            stats(np.sqrt((a * a).sum(axis=1)))
print(f"{time.perf_counter() - start:.4f}")
