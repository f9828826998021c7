import Foundation
import LakeTestSupport
import Testing

@Suite struct CompressionBombTests {
    /// A valid zlib VTU of 100 M Float32 zeros (400 MB inflated, under a megabyte on disk),
    /// written with Python's standard zlib in VTK's block layout.
    static let writer = #"""
        import struct, sys, zlib
        n = 99_999_744          # a whole number of 32 KiB blocks
        block = 32768
        raw = bytes(block)
        comp = zlib.compress(raw)
        count = n * 4 // block
        header = struct.pack("<%dI" % (3 + count), count, block, 0, *([len(comp)] * count))
        out = open(sys.argv[1], "wb")
        out.write(b'<?xml version="1.0"?>\n<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt32" compressor="vtkZLibDataCompressor">\n<UnstructuredGrid>\n<Piece NumberOfPoints="%d" NumberOfCells="0">\n<PointData>\n<DataArray type="Float32" Name="zeros" format="appended" offset="0"/>\n</PointData>\n</Piece>\n</UnstructuredGrid>\n<AppendedData encoding="raw">\n_' % n)
        out.write(header)
        for _ in range(count):
            out.write(comp)
        out.write(b'\n</AppendedData>\n</VTKFile>\n')
        """#

    func measure(_ arguments: [String]) throws -> (Int32, Int) { try PeakMemory.measure(arguments) }

    @Test func aHugelyCompressedFileIsProcessedInBoundedMemory() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let bomb = lake.directory.file("bomb.vtu")
        _ = try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, bomb])
        let size = try FileManager.default.attributesOfItem(atPath: bomb)[.size] as! Int
        #expect(size < 2_000_000, "the bomb should be small on disk, is \(size) bytes")
        #expect(try lake.run(["upload", bomb, "--no-wait"]).succeeded)
        let (status, peakKiB) = try measure(["process", "--store", lake.store])
        #expect(status == 0)
        #expect(peakKiB < 100 * 1024, "processing 400 MB of inflated data peaked at \(peakKiB / 1024) MiB")
        let listed = try lake.json(try lake.run(["object", "ls", "--json"]))
        let object = try #require((listed["objects"] as? [[String: Any]])?.first)
        #expect(object["status"] as? String == "READY")
        let field = ((object["provisions"] as! [[String: Any]])[0]["field"] as! [String: Any])
        #expect(field["num_tuples"] as? Int == 99_999_744)
        let magnitude = field["magnitude_stats"] as! [String: Any]
        #expect(magnitude["count"] as? Int == 99_999_744 && magnitude["max"] as? Double == 0)
    }

    /// A manifest's field unites the arrays of all its blocks; the decoded bytes kept between the
    /// passes are bounded for the field as a whole, not per block: 16 blocks of 8 MiB decoded
    /// each (128 MiB in all) are processed well within the bound.
    @Test func aManifestOfManyCompressedBlocksIsProcessedInBoundedMemory() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let folder = lake.directory.file("run")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let writer = Self.writer.replacingOccurrences(of: "n = 99_999_744", with: "n = 2_097_152")
        var blocks = ""
        for i in 0..<16 {
            _ = try Command.output("/usr/bin/env", ["python3", "-c", writer, "\(folder)/b\(i).vtu"])
            blocks += "<DataSet index=\"\(i)\" file=\"run/b\(i).vtu\"/>\n"
        }
        let manifest = lake.directory.write("run.vtm", """
            <?xml version="1.0"?>
            <VTKFile type="vtkMultiBlockDataSet" version="1.0" byte_order="LittleEndian">
            <vtkMultiBlockDataSet>
            \(blocks)</vtkMultiBlockDataSet>
            </VTKFile>
            """)
        #expect(try lake.run(["upload", manifest, "--no-wait"]).succeeded)
        let (status, peakKiB) = try measure(["process", "--store", lake.store])
        #expect(status == 0)
        #expect(peakKiB < 120 * 1024, "processing 16 blocks of 8 MiB decoded peaked at \(peakKiB / 1024) MiB")
        let listed = try lake.json(try lake.run(["object", "ls", "--json", "--limit", "100"]))
        let objects = try #require(listed["objects"] as? [[String: Any]])
        #expect(objects.count == 17 && objects.allSatisfy { $0["status"] as? String == "READY" })
        let vtm = try #require(objects.first { ($0["name"] as? String) == "run.vtm" })
        let field = try #require((vtm["provisions"] as? [[String: Any]])?.first?["field"] as? [String: Any])
        #expect(field["num_tuples"] as? Int == 16 * 2_097_152)
    }

    /// VTK's writers take any block size (`SetBlockSize`); this writes a cloud of points with a
    /// Float32 and an Int64 field, compressed in blocks of BLOCK bytes (0: VTK's 32 KiB) or raw,
    /// appended raw (or inline base64: COMPRESSOR-inline).
    static let blockWriter = #"""
        import sys, numpy as np, vtk
        from vtk.util import numpy_support as ns
        out, compressor, block, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        inline = compressor.endswith("-inline"); compressor = compressor.replace("-inline", "")
        i = np.arange(n)
        data = vtk.vtkPolyData(); points = vtk.vtkPoints()
        xyz = np.zeros((n, 3), np.float32); xyz[:, 0] = (i % 4096) * 0.5
        points.SetData(ns.numpy_to_vtk(xyz, deep=True)); data.SetPoints(points)
        for name, values in (("pressure", ((i * 7919) % 1000).astype(np.float32) * 0.25 - 40), ("region", (i % 3 - 1).astype(np.int64))):
            array = ns.numpy_to_vtk(values, deep=True); array.SetName(name); data.GetPointData().AddArray(array)
        writer = vtk.vtkXMLPolyDataWriter(); writer.SetFileName(out); writer.SetInputData(data)
        writer.SetDataModeToBinary() if inline else writer.SetDataModeToAppended()
        getattr(writer, "SetCompressorTypeTo" + compressor)()
        if compressor != "None": writer.SetCompressionLevel(1)
        if block: writer.SetBlockSize(block)
        assert writer.Write() == 1
        """#

    func canonical(_ value: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]), as: UTF8.self)
    }

    func object(_ lake: LakeBinary, named name: String) throws -> [String: Any] {
        let listed = try lake.json(try lake.run(["object", "ls", "--json", "--name-contains", name]))
        return try #require((listed["objects"] as? [[String: Any]])?.first)
    }

    func fields(_ lake: LakeBinary, named name: String) throws -> [String: [String: Any]] {
        let object = try object(lake, named: name)
        #expect(object["status"] as? String == "READY", "\(name): \(object["failure_reason"] ?? "")")
        var fields: [String: [String: Any]] = [:]
        for provision in object["provisions"] as? [[String: Any]] ?? [] {
            if let field = provision["field"] as? [String: Any] { fields[field["label"] as! String] = field }
        }
        return fields
    }

    /// Each array in one block of 96 MiB (declared; the arrays are smaller): such files were
    /// refused ("blocks of 100663296 bytes (limit 67108864)"). Every compressor's file now gives
    /// the statistics and mesh summary of the same data written raw, value for value.
    @Test(arguments: ["ZLib", "LZ4", "LZMA", "LZ4-inline"])
    func aFileWrittenInHugeBlocksHasTheStatisticsOfItsRawTwin(_ compressor: String) throws {
        let lake = LakeBinary()
        try lake.initStore()
        for (name, kind, block) in [("huge.vtp", compressor, 96 << 20), ("raw.vtp", "None", 0)] {
            _ = try Command.output("/usr/bin/env", ["python3", "-c", Self.blockWriter, lake.directory.file(name), kind, "\(block)", "500000"])
            #expect(try lake.run(["upload", lake.directory.file(name), "--no-wait"]).succeeded)
        }
        #expect(try lake.run(["process"]).succeeded)
        let huge = try fields(lake, named: "huge.vtp")
        let raw = try fields(lake, named: "raw.vtp")
        #expect(huge.keys.sorted() == ["pressure", "region"])
        for (label, field) in raw {
            let (a, b) = (try canonical(field), try canonical(huge[label] ?? [:]))
            #expect(a == b, "\(compressor) \(label): \(b) against \(a)")
        }
        // The mesh summary reads the points, one block of 6 MB here, as the fields are read.
        let meshes = try ["huge.vtp", "raw.vtp"].map { try canonical(object(lake, named: $0)["mesh"] as? [String: Any] ?? [:]) }
        #expect(meshes[0] == meshes[1] && meshes[0].contains("\"points\":500000"), "\(meshes)")
    }

    /// One block of 144 MB (36 M Float32 values of a FieldData array, LZ4, VTK's writer with a
    /// block size of 256 MiB) is decoded in pieces: decoding it whole would take more than the
    /// 128 MiB a file may cost. (FieldData has no statistics; it is decoded to be checked.)
    @Test func aBlockLargerThanTheMemoryBoundIsProcessedWithinIt() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let file = lake.directory.file("huge.vtp")
        let writer = #"""
            import sys, numpy as np, vtk
            from vtk.util import numpy_support as ns
            data = vtk.vtkPolyData(); points = vtk.vtkPoints(); points.SetNumberOfPoints(4); data.SetPoints(points)
            array = ns.numpy_to_vtk((np.arange(36_000_000) % 1000).astype(np.float32) * 0.25, deep=True); array.SetName("history")
            data.GetFieldData().AddArray(array)
            writer = vtk.vtkXMLPolyDataWriter(); writer.SetFileName(sys.argv[1]); writer.SetInputData(data); writer.SetDataModeToAppended()
            writer.SetCompressorTypeToLZ4(); writer.SetBlockSize(256 << 20)
            assert writer.Write() == 1
            """#
        _ = try Command.output("/usr/bin/env", ["python3", "-c", writer, file])
        #expect(try lake.run(["upload", file, "--no-wait"]).succeeded)
        let (status, peakKiB) = try measure(["process", "--store", lake.store])
        #expect(status == 0)
        #expect(peakKiB < 128 * 1024, "processing a 144 MB block peaked at \(peakKiB / 1024) MiB")
        _ = try fields(lake, named: "huge.vtp")
    }

    /// One zlib block that inflates to 8 GiB of zeros (8 MB on disk: a flushed segment repeated),
    /// declared consistently: valid data, but a hostile one. It is decoded as a stream, and the
    /// store's time limit (1 s here) stops it inside the block, with the limit as its reason.
    @Test func aStreamedBlockIsStoppedByTheTimeLimit() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let config = lake.store + "/lake.json"
        var settings = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: config))) as! [String: Any]
        settings["processing_time_limit_seconds"] = 1
        try JSONSerialization.data(withJSONObject: settings).write(to: URL(fileURLWithPath: config))
        let bomb = lake.directory.file("bomb.vtp")
        _ = try Command.output("/usr/bin/env", ["python3", "-c", #"""
            import struct, sys, zlib
            piece = 1 << 20; pieces = 8192; n = piece * pieces
            z = zlib.compressobj(9)
            segment = z.compress(bytes(piece)) + z.flush(zlib.Z_FULL_FLUSH)
            stream = segment[:2] + segment[2:] * pieces + b"\x03\x00" + struct.pack(">I", ((n % 65521) << 16) | 1)
            header = struct.pack("<4Q", 1, n, n, len(stream))
            out = open(sys.argv[1], "wb")
            out.write(b'<?xml version="1.0"?>\n<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64" compressor="vtkZLibDataCompressor">\n<PolyData>\n<FieldData>\n<DataArray type="Float32" Name="zeros" NumberOfTuples="%d" format="appended" offset="0"/>\n</FieldData>\n<Piece NumberOfPoints="0" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" NumberOfPolys="0">\n</Piece>\n</PolyData>\n<AppendedData encoding="raw">\n_' % (n // 4))
            out.write(header + stream + b'\n</AppendedData>\n</VTKFile>\n')
            """#, bomb])
        let size = try FileManager.default.attributesOfItem(atPath: bomb)[.size] as! Int
        #expect(size < 16 << 20, "the bomb should be small on disk, is \(size) bytes")
        #expect(try lake.run(["upload", bomb, "--no-wait"]).succeeded)
        #expect(try lake.run(["process"]).succeeded)
        let object = try object(lake, named: "bomb.vtp")
        #expect(object["status"] as? String == "FAILED")
        let reason = object["failure_reason"] as? String ?? ""
        #expect(reason.contains("longer than the limit of 1 s") && reason.contains("processing_time_limit_seconds")
                && reason.contains("lake object reprocess \(object["id"] as? String ?? "?")"), "\(reason)")
    }
}
