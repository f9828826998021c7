#!/usr/bin/env python3
"""Writes VTK files whose damage lies outside the analysed arrays (FieldData, Points, cells), with
VTK's own XML writer, then damages one byte range of each.

    pip install vtk numpy && python3 Tests/Fixtures/make_damaged_fixtures.py

Outputs Tests/Fixtures/vtk/damaged/*.vtu and damaged.json: for each file, the DataArray that is
damaged and whether VTK's own reader reports an error on it (it accepts some of them silently).
Committed; CI does not run this. Lake must fail every file but `intact-*.vtu`, naming the array.
"""
import json, os, re, subprocess, sys
import numpy as np
import vtk
from vtk.util import numpy_support as ns

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vtk", "damaged")
os.makedirs(HERE, exist_ok=True)
rng = np.random.default_rng(20261130)

def grid():
    g = vtk.vtkUnstructuredGrid()
    pts = vtk.vtkPoints()
    pts.SetData(ns.numpy_to_vtk(rng.random((50, 3)), deep=True))
    g.SetPoints(pts)
    for c in range(20):
        ids = vtk.vtkIdList()
        for i in range(4):
            ids.InsertNextId((c + i) % 50)
        g.InsertNextCell(vtk.VTK_TETRA, ids)
    p = ns.numpy_to_vtk(rng.standard_normal(50), deep=True); p.SetName("p")
    g.GetPointData().AddArray(p)
    t = ns.numpy_to_vtk(np.arange(3, dtype=np.float64), deep=True); t.SetName("TimeValue")
    g.GetFieldData().AddArray(t)
    s = vtk.vtkStringArray(); s.SetName("solver"); s.InsertNextValue("openfoam"); s.InsertNextValue("v2406")
    g.GetFieldData().AddArray(s)
    return g

def write(path, compressor):
    w = vtk.vtkXMLUnstructuredGridWriter()
    w.SetInputData(grid()); w.SetFileName(path)
    w.SetDataModeToAppended(); w.EncodeAppendedDataOff(); w.SetHeaderTypeToUInt64()
    {None: w.SetCompressorTypeToNone, "zlib": w.SetCompressorTypeToZLib}[compressor]()
    assert w.Write() == 1, path

def vtk_reader_fails(path):
    """Whether VTK's own reader reports an error on the file (in a child process: VTK logs to stderr)."""
    script = f"import vtk; r = vtk.vtkXMLUnstructuredGridReader(); r.SetFileName({path!r}); r.Update()"
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    return run.returncode != 0 or "ERR|" in run.stderr

def attribute_offset(data, array_name, attribute):
    """Byte range of an attribute's value on the DataArray named `array_name`."""
    tag = re.search(rb'<(?:Data)?Array[^>]*Name="' + re.escape(array_name.encode()) + rb'"[^>]*>', data)
    value = re.search(attribute.encode() + rb'="([^"]*)"', tag.group(0))
    return tag.start() + value.start(1), tag.start() + value.end(1)

def appended_start(data):
    return data.index(b"<AppendedData") + data[data.index(b"<AppendedData"):].index(b"_") + 1

def array_offset(data, name):
    a, b = attribute_offset(data, name, "offset")
    return appended_start(data) + int(data[a:b])

def set_attribute(data, name, attribute, value):
    a, b = attribute_offset(data, name, attribute)
    return data[:a] + value.encode() + data[b:]

files = {}
def damage(name, base, array, change):
    with open(os.path.join(HERE, base), "rb") as f:
        data = f.read()
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        f.write(change(data))
    files[name] = {"array": array, "vtk_reader_fails": vtk_reader_fails(path)}

write(os.path.join(HERE, "intact-raw.vtu"), None)
write(os.path.join(HERE, "intact-zlib.vtu"), "zlib")
for base in ("intact-raw.vtu", "intact-zlib.vtu"):
    files[base] = {"array": None, "vtk_reader_fails": vtk_reader_fails(os.path.join(HERE, base))}

def overclaim(data):
    at = array_offset(data, "TimeValue")
    size = int.from_bytes(data[at:at + 8], "little")
    return data[:at] + (size + 10_000_000).to_bytes(8, "little") + data[at + 8:]

# The three of the issue: a block header claiming 10,000,000 more bytes, an offset past the end
# of the file, and NumberOfTuples 1000 over one value.
damage("fielddata-header-overclaims.vtu", "intact-raw.vtu", "TimeValue", overclaim)
damage("fielddata-offset-past-end.vtu", "intact-raw.vtu", "TimeValue",
       lambda d: set_attribute(d, "TimeValue", "offset", str(len(d) + 1000)))
def one_value(data):
    g = grid()
    t = ns.numpy_to_vtk(np.array([7.0]), deep=True); t.SetName("TimeValue")
    g.GetFieldData().RemoveArray("TimeValue"); g.GetFieldData().AddArray(t)
    path = os.path.join(HERE, "tmp.vtu")
    w = vtk.vtkXMLUnstructuredGridWriter(); w.SetInputData(g); w.SetFileName(path)
    w.SetDataModeToAppended(); w.EncodeAppendedDataOff(); w.SetHeaderTypeToUInt64(); w.SetCompressorTypeToNone()
    assert w.Write() == 1
    with open(path, "rb") as f:
        out = f.read()
    os.remove(path)
    return set_attribute(out, "TimeValue", "NumberOfTuples", "1000")
damage("fielddata-tuples-mismatch.vtu", "intact-raw.vtu", "TimeValue", one_value)

# The same rules for every other array: a corrupt compressed stream in FieldData and in Points,
# a string array whose strings are fewer than it declares, cell types of the wrong count, and a
# connectivity header that overlaps the next array.
def corrupt_first_block(name):
    def change(data):
        at = array_offset(data, name)
        header = 8 * (3 + int.from_bytes(data[at:at + 8], "little"))
        start = at + header + 4
        return data[:start] + bytes(b ^ 0x5A for b in data[start:start + 8]) + data[start + 8:]
    return change
damage("fielddata-corrupt-stream.vtu", "intact-zlib.vtu", "TimeValue", corrupt_first_block("TimeValue"))
damage("points-corrupt-stream.vtu", "intact-zlib.vtu", "Points", corrupt_first_block("Points"))
damage("fielddata-strings-mismatch.vtu", "intact-raw.vtu", "solver",
       lambda d: set_attribute(d, "solver", "NumberOfTuples", "5"))
damage("cells-types-count.vtu", "intact-raw.vtu", "types",
       lambda d: d.replace(b'NumberOfCells="20"', b'NumberOfCells="19"', 1))
def overlap(data):
    at = array_offset(data, "connectivity")
    size = int.from_bytes(data[at:at + 8], "little")
    return data[:at] + (size + 16).to_bytes(8, "little") + data[at + 8:]
damage("connectivity-overlaps-next.vtu", "intact-raw.vtu", "connectivity", overlap)

with open(os.path.join(HERE, "damaged.json"), "w") as f:
    json.dump(files, f, indent=1, sort_keys=True)
for name, info in sorted(files.items()):
    print(name, info)
