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

    /// Runs `lake` and returns its exit status and peak resident memory in KiB.
    func measure(_ arguments: [String]) -> (Int32, Int) {
        var pid: pid_t = 0
        let argv = [LakeBinary.executable] + arguments
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        defer { posix_spawn_file_actions_destroy(&actions) }
        guard posix_spawn(&pid, argv[0], &actions, nil, cArgs, environ) == 0 else { return (-1, 0) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        return ((status >> 8) & 0xFF, usage.ru_maxrss)
    }

    @Test func aHugelyCompressedFileIsProcessedInBoundedMemory() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let bomb = lake.directory.file("bomb.vtu")
        _ = try Process.output("/usr/bin/env", ["python3", "-c", Self.writer, bomb])
        let size = try FileManager.default.attributesOfItem(atPath: bomb)[.size] as! Int
        #expect(size < 2_000_000, "the bomb should be small on disk, is \(size) bytes")
        #expect(try lake.run(["upload", bomb, "--no-wait"]).succeeded)
        let (status, peakKiB) = measure(["process", "--store", lake.store])
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
}
