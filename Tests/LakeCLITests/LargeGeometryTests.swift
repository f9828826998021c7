import Foundation
import LakeTestSupport
import Testing

/// Geometry and topology too large for the small fixtures: decoded in pieces on the cores free,
/// while the fields' statistics are computed beside them. VTK's own writer makes the files (raw
/// and zlib) and says what their mesh is; numpy gives the field's statistics.
@Suite struct LargeGeometryTests {
    static let writer = #"""
        import json, math, sys
        import numpy as np
        import vtk
        from vtk.util import numpy_support as ns
        folder = sys.argv[1]
        n = 1_200_000          # 14.4 MB of Float32 points, 9.6 MB of Int64 connectivity and offsets
        rng = np.random.default_rng(13)
        points = rng.normal(0, 100, (n, 3)).astype(np.float32)
        points[rng.integers(0, n), 0] = 9999.5      # extremes far inside the arrays
        points[rng.integers(0, n), 2] = -8888.25
        grid = vtk.vtkUnstructuredGrid()
        vtk_points = vtk.vtkPoints()
        vtk_points.SetData(ns.numpy_to_vtk(points, deep=True))
        grid.SetPoints(vtk_points)
        cells = vtk.vtkCellArray()
        cells.SetData(ns.numpy_to_vtkIdTypeArray(np.arange(n + 1, dtype=np.int64), deep=True),
                      ns.numpy_to_vtkIdTypeArray(np.arange(n, dtype=np.int64), deep=True))
        grid.SetCells(vtk.VTK_VERTEX, cells)
        s = (np.cos(np.arange(n) * 1e-4) * 40 + rng.normal(0, 1, n)).astype(np.float64)
        field = ns.numpy_to_vtk(s, deep=True)
        field.SetName("s")
        grid.GetPointData().AddArray(field)
        for name, compressed in (("raw.vtu", False), ("zlib.vtu", True)):
            writer = vtk.vtkXMLUnstructuredGridWriter()
            writer.SetFileName(folder + "/" + name)
            writer.SetInputData(grid)
            writer.SetDataModeToAppended()
            writer.EncodeAppendedDataOff()
            writer.SetHeaderTypeToUInt64()
            if compressed:
                writer.SetCompressorTypeToZLib()
            else:
                writer.SetCompressorTypeToNone()
            assert writer.Write() == 1
        mean = math.fsum(s.tolist()) / n
        print(json.dumps({"points": n, "cells": n, "bounds": list(grid.GetBounds()),
                          "min": float(s.min()), "max": float(s.max()), "mean": mean,
                          "hist128": np.histogram(s, bins=128, range=(float(s.min()), float(s.max())))[0].tolist()}))
        """#

    @Test func largeGeometryIsDecodedInPiecesBesideTheFields() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let expected = try JSONSerialization.jsonObject(with: Data(
            try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, lake.directory.path]).utf8)) as! [String: Any]
        let bounds = try #require(expected["bounds"] as? [Double])
        for name in ["raw.vtu", "zlib.vtu"] {
            let object = try uploaded(lake, lake.directory.file(name))
            #expect(object["status"] as? String == "READY", "\(name): \(object["failure_reason"] ?? "")")
            let mesh = try #require(object["mesh"] as? [String: Any], "\(name)")
            #expect(mesh["points"] as? Int == expected["points"] as? Int)
            #expect(mesh["cells"] as? Int == expected["cells"] as? Int)
            #expect(mesh["cell_types"] as? [String: Int] == ["VERTEX": 1_200_000], "\(name): \(mesh)")
            let box = try #require(mesh["bounds"] as? [String: Any], "\(name): \(mesh)")
            // VTK gives (xmin, xmax, ymin, ymax, zmin, zmax).
            #expect(box["min"] as? [Double] == [bounds[0], bounds[2], bounds[4]], "\(name): \(box)")
            #expect(box["max"] as? [Double] == [bounds[1], bounds[3], bounds[5]], "\(name): \(box)")
            let field = try #require((object["provisions"] as? [[String: Any]])?.first?["field"] as? [String: Any])
            let stats = try #require((field["component_stats"] as? [[String: Any]])?.first?["stats"] as? [String: Any])
            #expect(stats["min"] as? Double == expected["min"] as? Double)
            #expect(stats["max"] as? Double == expected["max"] as? Double)
            let mean = try #require(stats["mean"] as? Double), want = try #require(expected["mean"] as? Double)
            #expect(abs(mean - want) <= 1e-9 * abs(want))
            #expect(stats["hist128"] as? [Int] == expected["hist128"] as? [Int])
        }
    }

    /// Damaged points and a damaged field in one file: the points are checked beside the field's
    /// statistics, yet the reason is the points', as when one ran after the other. The field
    /// damaged alone is named in the reason.
    @Test func damagedGeometryIsTheReasonWhateverFinishesFirst() throws {
        let lake = LakeBinary()
        try lake.initStore()
        _ = try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, lake.directory.path])
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: lake.directory.file("zlib.vtu"))))
        let both = lake.directory.file("both.vtu"), field = lake.directory.file("field.vtu")
        try Data(try damaged(original, arrays: ["s", "Points"])).write(to: URL(fileURLWithPath: both))
        try Data(try damaged(original, arrays: ["s"])).write(to: URL(fileURLWithPath: field))
        for _ in 0..<3 {
            let object = try uploaded(lake, both)
            #expect(object["status"] as? String == "FAILED")
            let reason = object["failure_reason"] as? String ?? ""
            #expect(reason.contains("Points"), "\(reason)")
            #expect(!reason.contains("'s'"), "\(reason)")
        }
        let object = try uploaded(lake, field)
        #expect(object["status"] as? String == "FAILED")
        let reason = object["failure_reason"] as? String ?? ""
        #expect(reason.contains("PointData array 's'") && reason.contains("cannot be decoded"), "\(reason)")
    }

    /// A piece that declares more points than any file holds fails its object with a reason; the
    /// bytes its fields would take were multiplied out before they were checked, and `lake
    /// upload` (which shows processing's progress) died of the overflow, leaving the object
    /// PROCESSING.
    @Test func aPieceDeclaringMorePointsThanAnyFileFailsItsObject() throws {
        let lake = LakeBinary()
        try lake.initStore()
        for count in ["9223372036854775807", "4611686018427387904", "768614336404564651"] {
            let path = lake.directory.write("huge-\(count.prefix(4)).vtu", """
                <?xml version="1.0"?>
                <VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">
                <UnstructuredGrid><Piece NumberOfPoints="\(count)" NumberOfCells="0">
                <PointData><DataArray type="Float64" Name="p" NumberOfComponents="3" format="ascii">1 2 3</DataArray></PointData>
                </Piece></UnstructuredGrid></VTKFile>
                """)
            let object = try uploaded(lake, path)
            #expect(object["status"] as? String == "FAILED", "\(count): \(object)")
            #expect((object["failure_reason"] as? String ?? "").contains("more than any file can hold"), "\(object)")
        }
    }

    /// `bytes` of a zlib VTU with a byte flipped in the middle of each named array's blocks.
    func damaged(_ original: [UInt8], arrays: [String]) throws -> [UInt8] {
        var bytes = original
        let text = String(decoding: bytes.prefix(4096), as: UTF8.self)
        func offset(of name: String) throws -> Int {
            let tag = try #require(text.range(of: "Name=\"\(name)\""))
            let rest = text[tag.upperBound...]
            let attribute = try #require(rest.range(of: "offset=\""))
            let digits = rest[attribute.upperBound...].prefix { $0.isNumber }
            return try #require(Int(digits))
        }
        let appended = try #require(text.range(of: "<AppendedData encoding=\"raw\">"))
        let marker = text.utf8.distance(from: text.startIndex, to: appended.upperBound)
        let base = try #require(bytes[marker...].firstIndex(of: UInt8(ascii: "_"))) + 1
        for name in arrays {
            let start = base + (try offset(of: name))
            func word(_ index: Int) -> Int {
                Int(bytes[(start + 8 * index)..<(start + 8 * index + 8)].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
            }
            // Past the block header (three UInt64 and one size per block), in the middle of the blocks.
            let blocks = word(0)
            let sizes = (0..<blocks).map { word(3 + $0) }
            bytes[start + 8 * (3 + blocks) + sizes.prefix(blocks / 2).reduce(0, +) + sizes[blocks / 2] / 2] ^= 0x5a
        }
        return bytes
    }

    /// The object as `lake upload --json` prints it once processed (the upload waits for that).
    func uploaded(_ lake: LakeBinary, _ file: String) throws -> [String: Any] {
        let upload = try lake.run(["upload", file, "--json"])
        return try #require((try lake.json(upload))["succeeded"] as? [[String: Any]], "\(upload.stdout)\(upload.stderr)").first ?? [:]
    }
}
