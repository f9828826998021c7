import Foundation
import LakeTestSupport
import Testing

@Suite struct UploadCommandTests {
    @Test func uploadsWithMetadataAndReturnsReadyObjects() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let stl = lake.directory.write("wing.stl", Fixtures.asciiSTL(triangles: 3))
        let step = lake.directory.write("wing.step", Fixtures.step)
        let notes = lake.directory.write("notes.txt", "free text")
        let result = try lake.run(["upload", stl, step, notes, "--param", "mach=0.8", "--param", "v=[1,2,3]@m/s",
                                   "--param", "solver=rhoSimpleFoam", "--tag", "project=wing", "--tag", "rev=3",
                                   "--geometry-units", "mm", "--annotate", "p:POINT=PRESSURE", "--description", "demo", "--json"])
        #expect(result.succeeded, "\(result.stderr)")
        let objects = try #require(try lake.json(result)["succeeded"] as? [[String: Any]])
        #expect(objects.map { $0["status"] as? String } == ["READY", "READY", "READY"])
        #expect(objects.map { $0["format"] as? String } == ["stl", "step", "unknown"])
        let first = objects[0]
        #expect((first["params"] as? [String: Any])?.keys.sorted() == ["mach", "solver", "v"])
        let v = try #require((first["params"] as? [String: Any])?["v"] as? [String: Any])
        #expect(v["units"] as? String == "m/s" && (v["value"] as? [Double]) == [1, 2, 3])
        #expect((first["tags"] as? [String: Any])?["rev"] as? Double == 3)
        #expect(first["created_by"] as? String == "root" || getuid() != 0)
        #expect((first["id"] as? String)?.hasPrefix("obj-") == true)
        let provisions = try #require(first["provisions"] as? [[String: Any]])
        let geometry = try #require(provisions.first?["geometry"] as? [String: Any])
        #expect(geometry["units"] as? String == "mm" && geometry["triangle_count"] as? Int == 3)
        let annotations = try #require(first["annotations"] as? [[String: Any]])
        #expect(annotations.first?["quantity_type"] as? String == "PRESSURE" && annotations.first?["units"] as? String == "Pa")
        let hash = try #require(((first["file"] as? [String: Any])?["blob"] as? [String: Any])?["content_hash"] as? [String: Any])
        let md5 = try Command.output("/usr/bin/md5sum", [stl]).prefix(32)
        #expect(hash["md5"] as? String == String(md5))
        let sha = try Command.output("/usr/bin/sha256sum", [stl]).prefix(64)
        #expect(hash["sha256"] as? String == String(sha))
    }

    @Test func someFilesFailingDoesNotStopTheOthers() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let good = lake.directory.write("good.txt", "ok")
        lake.directory.write("folder/inside.txt", "x")
        let bad = lake.directory.write("broken.stl", "solid x\n facet normal 0 0 1\n outer loop\n vertex 0 0 nope\n")
        let result = try lake.run(["upload", good, lake.directory.file("missing.vtu"), lake.directory.file("folder"), bad])
        #expect(result.status == 1)
        #expect(result.stderr.contains("missing.vtu: no such file"))
        #expect(result.stderr.contains("folder: is a directory"))
        #expect(result.stderr.contains("broken.stl: processing failed"))
        #expect(result.stderr.contains("expected a number for the z of a vertex, found 'nope'"))
        #expect(result.stdout.contains("READY") && result.stdout.contains("good.txt"))
        let listed = try lake.json(try lake.run(["object", "ls", "--json"]))
        let statuses = (listed["objects"] as! [[String: Any]]).map { $0["status"] as! String }.sorted()
        #expect(statuses == ["FAILED", "READY"])
    }

    @Test(.disabled(if: ClusterStores.isOn, "looks into the embedded store's blobs/ folder"), arguments: [
        (["--param", "mach"], "has no '='"),
        (["--param", "=1"], "empty key"),
        (["--param", "v=[1,2"], "not valid JSON"),
        (["--param", "v=[1,\"a\"]"], "numbers only"),
        (["--param", "m=0.8@"], "empty unit"),
        (["--tag", "novalue"], "has no '='"),
        (["--tag", "x={bad"], "not valid JSON"),
        (["--annotate", "p:POINT=PRESURE"], "unknown quantity type 'PRESURE'; did you mean PRESSURE?"),
        (["--annotate", "p:POINT=NOTHINGLIKEIT"], "unknown quantity type 'NOTHINGLIKEIT'; valid names: DIMENSIONLESS, MASS"),
        (["--annotate", "p:EDGE=PRESSURE"], "use POINT or CELL"),
        (["--annotate", "pPOINT=PRESSURE"], "no ':POINT' or ':CELL'"),
        (["--geometry-units", "furlong"], "valid units: m, cm, mm"),
    ])
    func malformedOptionsChangeNothing(options: [String], message: String) throws {
        let lake = LakeBinary()
        try lake.initStore()
        let file = lake.directory.write("a.stl", Fixtures.asciiSTL())
        let result = try lake.run(["upload", file] + options)
        #expect(result.status == 64, "\(result)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        let listed = try lake.run(["object", "ls", "--json"])
        #expect((try lake.json(listed)["objects"] as? [Any])?.isEmpty == true)
        let blobs = lake.store + "/blobs"
        #expect(try FileManager.default.contentsOfDirectory(atPath: blobs).allSatisfy {
            try FileManager.default.contentsOfDirectory(atPath: blobs + "/" + $0).isEmpty
        })
    }

    @Test func noWaitReturnsUploadedAndProcessFinishesTheJob() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let file = lake.directory.write("part.stl", Fixtures.asciiSTL())
        let uploaded = try lake.run(["upload", file, "--no-wait", "--json"])
        let object = try #require((try lake.json(uploaded)["succeeded"] as? [[String: Any]])?.first)
        #expect(object["status"] as? String == "UPLOADED")
        let processed = try lake.run(["process"])
        #expect(processed.succeeded && processed.stdout.contains("Processed 1 object"))
        let shown = try lake.json(try lake.run(["object", "show", object["id"] as! String, "--json"]))
        #expect(shown["status"] as? String == "READY")
    }

    /// An object whose worker died holds its lease until it expires: `lake process` cannot take
    /// it yet and says so, naming the worker and when the lease ends, instead of a bare "0".
    @Test(.disabled(if: ClusterStores.isOn, "holds an object back by writing to catalog.sqlite"))
    func processSaysWhatItCouldNotTakeAndWhy() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let file = lake.directory.write("held.stl", Fixtures.asciiSTL())
        let uploaded = try lake.run(["upload", file, "--no-wait", "--json"])
        let id = try #require((try lake.json(uploaded)["succeeded"] as? [[String: Any]])?.first?["id"] as? String)
        let until = (Date().timeIntervalSince1970 + 120) * 1_000_000
        let sql = "UPDATE objects SET status = 'PROCESSING', lease_owner = 'deadhost:4242:7', lease_expires_at = \(Int64(until)) WHERE id = '\(id)'"
        #expect(try Shell.run("sqlite3 '\(lake.store)/catalog.sqlite' \"\(sql)\"").status == 0)
        let processed = try lake.run(["process"])
        #expect(processed.succeeded && processed.stdout.contains("Processed 0 objects"))
        #expect(processed.stdout.contains("WAITING        \(id)  being processed by deadhost:4242:7"), "\(processed.stdout)")
        #expect(processed.stdout.contains("lease expires in 1"), "\(processed.stdout)")
    }

    @Test func aVTKFileThatIsNotVTKFailsWithAReason() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let file = lake.directory.write("run.vtu", "this is not xml")
        let result = try lake.run(["upload", file])
        #expect(result.status == 1)
        #expect(result.stdout.contains("FAILED"))
        #expect(result.stderr.contains("not an XML file"))
    }

    @Test func noProgressBarWhenOutputIsNotATerminal() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let big = lake.directory.writeRandom("big.bin", size: 12 << 20)
        let result = try lake.run(["upload", big])
        #expect(result.succeeded)
        #expect(result.stderr.isEmpty, "\(result.stderr)")
    }

    @Test func progressBarOnATerminal() throws {
        // `script` gives the command a pseudo-terminal, as an interactive shell would.
        let lake = LakeBinary()
        try lake.initStore()
        let big = lake.directory.writeRandom("big.bin", size: 48 << 20)
        let log = lake.directory.file("tty.log")
        let command = "\(LakeBinary.executable) upload \(big) --store \(lake.store) --no-wait"
        _ = try Command.output("/usr/bin/script", ["-q", "-e", "-c", command, log])
        let screen = try String(contentsOfFile: log, encoding: .utf8)
        #expect(screen.contains("big.bin ["), "\(screen)")
        #expect(screen.contains("MiB/s"))
        #expect(screen.contains("ETA"))
    }
}

/// `lake upload` on a terminal shows how processing of a large file goes; piped, it prints
/// nothing of the kind.
@Suite struct UploadProgressTests {
    static let writer = #"""
        import sys
        import numpy as np
        n = 6_000_000
        v = np.sin(np.arange(n, dtype=np.float64) * 1e-4).astype(np.float32)
        head = ('<?xml version="1.0"?>\n<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">\n<UnstructuredGrid>\n'
                '<Piece NumberOfPoints="%d" NumberOfCells="0"><PointData><DataArray type="Float32" Name="p" format="appended" offset="0"/></PointData></Piece>\n'
                '</UnstructuredGrid>\n<AppendedData encoding="raw">\n_') % n
        with open(sys.argv[1], "wb") as f:
            f.write(head.encode()); f.write(np.uint64(v.nbytes).tobytes()); f.write(v.tobytes()); f.write(b"\n</AppendedData>\n</VTKFile>\n")
        """#

    @Test func processingProgressOnATerminal() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let file = lake.directory.file("big.vtu")
        _ = try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, file])
        let command = "'\(LakeBinary.executable)' upload '\(file)' --store '\(lake.store)'"
        let shown = try Shell.run("script -qfec \"\(command)\" /dev/null")
        #expect(shown.status == 0, "\(shown.output)")
        #expect(shown.output.contains("Processing big.vtu [") && shown.output.contains(" %"), "\(shown.output)")
        #expect(shown.output.contains("READY"), "\(shown.output)")
        let second = lake.directory.file("again.vtu")
        _ = try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, second])
        let piped = try lake.run(["upload", second])
        #expect(piped.succeeded && !piped.stderr.contains("Processing"), "\(piped.stderr)")
    }
}
