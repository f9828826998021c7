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

    /// Runs `lake` and returns its exit status and peak resident memory in KiB. A small Python
    /// parent runs it: a child spawned straight from the (large) test process would inherit the
    /// test process's memory high-water mark, which Linux keeps across exec.
    func measure(_ arguments: [String]) throws -> (Int32, Int) {
        let script = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
            + "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        let output = try Process.output("/usr/bin/env", ["python3", "-c", script, LakeBinary.executable] + arguments)
        let fields = output.split(separator: " ").map { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }
        return (Int32(fields[0]), fields.count > 1 ? fields[1] : -1)
    }

    @Test func aHugelyCompressedFileIsProcessedInBoundedMemory() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let bomb = lake.directory.file("bomb.vtu")
        _ = try Process.output("/usr/bin/env", ["python3", "-c", Self.writer, bomb])
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
            _ = try Process.output("/usr/bin/env", ["python3", "-c", writer, "\(folder)/b\(i).vtu"])
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
}
