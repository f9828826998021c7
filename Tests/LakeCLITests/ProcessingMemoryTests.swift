import Foundation
import LakeTestSupport
import Testing

/// Memory that grew with the shape of a file rather than its size: a file may cost at most
/// 128 MiB to process (issue 13). Files written by VTK's own writer at run time.
@Suite struct ProcessingMemoryTests {
    /// A cloud of TUPLES points with FIELDS Float32 point fields of COMPONENTS components each.
    static let writer = #"""
        import sys, numpy as np, vtk
        from vtk.util import numpy_support as ns
        out, tuples, fields, components = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
        rng = np.random.default_rng(3)
        data = vtk.vtkPolyData(); points = vtk.vtkPoints()
        points.SetData(ns.numpy_to_vtk(rng.random((tuples, 3)).astype(np.float32), deep=True)); data.SetPoints(points)
        for f in range(fields):
            values = rng.standard_normal((tuples, components) if components > 1 else tuples).astype(np.float32)
            array = ns.numpy_to_vtk(values, deep=True); array.SetName("f%d" % f); data.GetPointData().AddArray(array)
        writer = vtk.vtkXMLPolyDataWriter(); writer.SetFileName(out); writer.SetInputData(data)
        writer.SetDataModeToAppended(); writer.EncodeAppendedDataOff(); writer.SetCompressorTypeToNone()
        assert writer.Write() == 1
        """#

    func processed(tuples: Int, fields: Int, components: Int) throws -> (peakKiB: Int, object: [String: Any], lake: LakeBinary) {
        let lake = LakeBinary()
        try lake.initStore()
        let file = lake.directory.file("shape.vtp")
        _ = try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, file, "\(tuples)", "\(fields)", "\(components)"])
        #expect(try lake.run(["upload", file, "--no-wait"]).succeeded)
        let (status, peakKiB) = try PeakMemory.measure(["process", "--store", lake.store])
        #expect(status == 0)
        let listed = try lake.json(try lake.run(["object", "ls", "--json"]))
        return (peakKiB, try #require((listed["objects"] as? [[String: Any]])?.first), lake)
    }

    /// 4,096 components (the most a DataArray may have), 10 MB: each thread decoded 2,048 tuples
    /// into a run per series (64 MiB) and the array was split over both cores: 138 MiB here
    /// (debug build; 185 MiB for 2,000 tuples with the release build), now 73.
    @Test func aWideArrayIsProcessedInBoundedMemory() throws {
        let (peakKiB, object, _) = try processed(tuples: 600, fields: 1, components: 4096)
        #expect(object["status"] as? String == "READY", "\(object["failure_reason"] ?? "")")
        #expect(peakKiB < 100 * 1024, "an array of 4,096 components peaked at \(peakKiB / 1024) MiB")
        let field = ((object["provisions"] as? [[String: Any]])?.first?["field"] as? [String: Any]) ?? [:]
        #expect((field["component_stats"] as? [Any])?.count == 4096)
    }

    /// 6,000 small fields: their provisions' JSON was built by one JSONEncoder tree (about six
    /// times its size) and `lake process` then read every object back, provisions decoded, to
    /// print its status line: 154 MiB (debug build), now 70.
    @Test func aFileOfManyFieldsIsProcessedInBoundedMemory() throws {
        let (peakKiB, object, _) = try processed(tuples: 100, fields: 6000, components: 1)
        #expect(object["status"] as? String == "READY", "\(object["failure_reason"] ?? "")")
        #expect((object["provisions"] as? [Any])?.count == 6000)
        #expect(peakKiB < 100 * 1024, "a file of 6,000 fields peaked at \(peakKiB / 1024) MiB")
    }

    /// 20,000 one-component fields: 40,000 series, the most an object may have. Its statistics
    /// (1 KB of histogram per series) were held while their JSON was built and while SQLite built
    /// the row from it: 124 MiB with the release build, now 107.
    @Test func aFileAtTheSeriesLimitIsProcessedWithin128MiB() throws {
        let (peakKiB, object, lake) = try processed(tuples: 20, fields: 20_000, components: 1)
        #expect(object["status"] as? String == "READY", "\(object["failure_reason"] ?? "")")
        #expect((object["provisions"] as? [Any])?.count == 20_000)
        #expect(peakKiB < 128 * 1024, "a file of 20,000 fields peaked at \(peakKiB / 1024) MiB")
        // Shown from the stored text laid out (not decoded and encoded again): the same object.
        let shown = try lake.json(try lake.run(["object", "show", object["id"] as! String, "--json"]))
        #expect((shown["provisions"] as? [Any])?.count == 20_000)
        #expect(NSDictionary(dictionary: shown).isEqual(to: object))
    }

    /// A hostile file of 300,000 one-value arrays (7 MB): as fields it took 1.4 GB and 45 s to
    /// process and left an object that made every `lake object ls` take 10 s; as FieldData (not
    /// fields, but each array held until processed) 111 MiB. Now refused while its XML is read,
    /// with the limit as its reason.
    @Test(arguments: [("PointData", "more than 40000 statistics series"), ("FieldData", "more than 100000 arrays, pieces and blocks")])
    func aFileOfMoreArraysThanTheLimitsFailsQuicklyInBoundedMemory(section: String, limit: String) throws {
        let lake = LakeBinary()
        try lake.initStore()
        var arrays = ""
        for index in 0..<300_000 { arrays += "<DataArray type=\"Float32\" Name=\"f\(index)\" NumberOfTuples=\"1\" format=\"ascii\">\(index)</DataArray>\n" }
        let pointData = section == "PointData" ? arrays : "", fieldData = section == "FieldData" ? arrays : ""
        let text = """
            <VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64"><PolyData><FieldData>
            \(fieldData)</FieldData>
            <Piece NumberOfPoints="1" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" NumberOfPolys="0"><PointData>
            \(pointData)</PointData><Points><DataArray type="Float32" NumberOfComponents="3" format="ascii">0 0 0</DataArray></Points>
            </Piece></PolyData></VTKFile>

            """
        let file = lake.directory.write("many.vtp", Data(text.utf8))
        #expect(try lake.run(["upload", file, "--no-wait"]).succeeded)
        let (status, peakKiB) = try PeakMemory.measure(["process", "--store", lake.store])
        #expect(status == 0)
        let listed = try lake.json(try lake.run(["object", "ls", "--json"]))
        let object = try #require((listed["objects"] as? [[String: Any]])?.first)
        #expect(object["status"] as? String == "FAILED")
        let reason = object["failure_reason"] as? String ?? ""
        #expect(reason.contains(limit) && reason.contains("split"), "\(reason)")
        #expect(peakKiB < 64 * 1024, "refusing 300,000 arrays peaked at \(peakKiB / 1024) MiB")
    }
}
