import Foundation
import LakeTestSupport
import Testing

/// Statistics of compressed arrays too large for the small fixtures, on both of their paths:
/// one decoded once and kept for both passes (3 M values), one decoded again in each pass
/// (13 M values, beyond what is kept), each split in halves for both cores. numpy and
/// `math.fsum` give the reference, as stats.md defines it.
@Suite struct LargeArrayStatisticsTests {
    static let writer = #"""
        import json, math, struct, sys, zlib
        import numpy as np
        out = sys.argv[1]
        block = 32768
        def array(n, seed):
            rng = np.random.default_rng(seed)
            v = (np.sin(np.arange(n) * 1e-3) * 250 + rng.normal(0, 3, n)).astype(np.float32)
            v[rng.choice(n, 11, replace=False)] = np.nan
            return v
        def blocks(raw):
            pieces = [zlib.compress(raw[i:i + block], 1) for i in range(0, len(raw), block)]
            last = len(raw) % block
            return struct.pack("<%dQ" % (3 + len(pieces)), len(pieces), block, last, *[len(p) for p in pieces]) + b"".join(pieces)
        def stats(v):
            v = v[~np.isnan(v)].astype(np.float64)
            lo, hi = float(v.min()), float(v.max())
            hist = np.histogram(v, bins=128, range=(lo, hi))[0].tolist()
            mean = math.fsum(v.tolist()) / v.size
            return {"count": int(v.size), "min": lo, "max": hi, "mean": mean,
                    "stdev": math.sqrt(math.fsum(((v - mean) ** 2).tolist()) / v.size), "hist128": hist}
        kept, streamed = array(3_000_000, 1), array(13_000_000, 2)
        n = streamed.size
        a, b = blocks(kept.tobytes()), blocks(streamed.tobytes())
        # Two pieces: the field is one array per piece, so each piece's array takes its own path.
        head = ('<?xml version="1.0"?>\n<VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64" compressor="vtkZLibDataCompressor">\n<UnstructuredGrid>\n'
                '<Piece NumberOfPoints="%d" NumberOfCells="0"><PointData><DataArray type="Float32" Name="p" format="appended" offset="0"/></PointData></Piece>\n'
                '<Piece NumberOfPoints="%d" NumberOfCells="0"><PointData><DataArray type="Float32" Name="p" format="appended" offset="%d"/></PointData></Piece>\n'
                '</UnstructuredGrid>\n<AppendedData encoding="raw">\n_') % (kept.size, n, len(a))
        with open(out, "wb") as f:
            f.write(head.encode()); f.write(a); f.write(b); f.write(b"\n</AppendedData>\n</VTKFile>\n")
        both = np.concatenate([kept, streamed])
        print(json.dumps({"p": stats(both), "abs": stats(np.abs(both)), "nan": 22}))
        """#

    @Test func compressedArraysKeptOrStreamedGiveExactStatistics() throws {
        let lake = LakeBinary()
        try lake.initStore()
        let file = lake.directory.file("large.vtu")
        let expected = try JSONSerialization.jsonObject(with: Data(
            try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, file]).utf8)) as! [String: Any]
        #expect(try lake.run(["upload", file]).succeeded)
        let listed = try lake.json(try lake.run(["object", "ls", "--json"]))
        let object = try #require((listed["objects"] as? [[String: Any]])?.first)
        #expect(object["status"] as? String == "READY", "\(object["failure_reason"] ?? "")")
        let field = try #require((object["provisions"] as? [[String: Any]])?.first?["field"] as? [String: Any])
        #expect(field["num_tuples"] as? Int == 16_000_000)
        #expect(field["has_nan"] as? Bool == true)
        let component = try #require((field["component_stats"] as? [[String: Any]])?.first?["stats"] as? [String: Any])
        for (actual, reference) in [(component, expected["p"]), (field["magnitude_stats"], expected["abs"])] {
            let actual = try #require(actual as? [String: Any]), reference = try #require(reference as? [String: Any])
            #expect(actual["count"] as? Int == reference["count"] as? Int)
            #expect(actual["nan_count"] as? Int == expected["nan"] as? Int)
            #expect(actual["min"] as? Double == reference["min"] as? Double)
            #expect(actual["max"] as? Double == reference["max"] as? Double)
            #expect(relativelyClose(actual["mean"] as? Double, reference["mean"] as? Double))
            #expect(relativelyClose(actual["stdev"] as? Double, reference["stdev"] as? Double))
            #expect(actual["hist128"] as? [Int] == reference["hist128"] as? [Int])
        }
    }

    func relativelyClose(_ a: Double?, _ b: Double?) -> Bool {
        guard let a, let b else { return false }
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1e-300)
    }
}
