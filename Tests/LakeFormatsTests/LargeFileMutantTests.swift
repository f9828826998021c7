import Foundation
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFormats

/// A file large enough for every concurrent path — points and a vector field cut into pieces,
/// two moderate fields computed at once, the checks beside the statistics — written by VTK's
/// own writer, damaged at random bytes of its appended data: each mutant must give the same
/// fields and mesh, or the same reason, read on the cores as read by one thread in order
/// (`CoreShare.alone`), and never crash. (It found nothing but a dictionary's order: the cell
/// types gathered per piece and merged.) The small fixtures' mutation fuzzer (`VTKFuzzTests`)
/// never reaches these paths: their arrays are below 8 MiB. Which failure is the reason when
/// several pieces fail is `VTKStrictnessTests.theFirstBadFieldIsTheReasonWhenFieldsAreComputedTogether`'s.
@Suite struct LargeFileMutantTests {
    static let writer = #"""
        import sys
        import numpy as np
        import vtk
        from vtk.util import numpy_support as ns
        n = 800_000            # 9.6 MB of points and of the vector; 3.2 and 6.4 MB scalars
        rng = np.random.default_rng(5)
        grid = vtk.vtkUnstructuredGrid()
        points = vtk.vtkPoints()
        points.SetData(ns.numpy_to_vtk(rng.normal(0, 10, (n, 3)).astype(np.float32), deep=True))
        grid.SetPoints(points)
        cells = vtk.vtkCellArray()
        cells.SetData(ns.numpy_to_vtkIdTypeArray(np.arange(n + 1, dtype=np.int64), deep=True),
                      ns.numpy_to_vtkIdTypeArray(np.arange(n, dtype=np.int64), deep=True))
        grid.SetCells(vtk.VTK_VERTEX, cells)
        for name, values in (("v", rng.normal(0, 1, (n, 3)).astype(np.float32)),
                             ("s", rng.normal(5, 2, n).astype(np.float32)),
                             ("t", np.sin(np.arange(n) * 1e-3).astype(np.float64))):
            array = ns.numpy_to_vtk(values, deep=True)
            array.SetName(name)
            grid.GetPointData().AddArray(array)
        writer = vtk.vtkXMLUnstructuredGridWriter()
        writer.SetFileName(sys.argv[1])
        writer.SetInputData(grid)
        writer.SetDataModeToAppended()
        writer.EncodeAppendedDataOff()
        writer.SetHeaderTypeToUInt64()
        if sys.argv[2] == "zlib":
            writer.SetCompressorTypeToZLib()
        else:
            writer.SetCompressorTypeToNone()
        assert writer.Write() == 1
        """#

    /// The fields and mesh, or the reason, as text: on the cores free, or by this thread alone.
    func outcome(_ path: String, alone: Bool = false) -> String {
        do {
            let read = { try VTKDatasetReader.read(try ReadableFile(path: path), format: .vtu) }
            let (fields, mesh) = alone ? try CoreShare.alone(read) : try read()
            // A dictionary's order is its own: the cell types in the order of their names.
            let types = mesh.cellTypes.sorted { $0.key < $1.key }
            return "\(fields)\n\(mesh.points) \(mesh.cells) \(String(describing: mesh.bounds)) \(types)"
        } catch {
            return "error: \(error)"
        }
    }

    @Test(arguments: ["zlib", "raw"])
    func damagedLargeFilesReadOnTheCoresAsByOneThread(_ compressor: String) throws {
        let directory = TemporaryDirectory("large-mutants")
        let original = directory.file("original.vtu")
        _ = try Command.output("/usr/bin/env", ["python3", "-c", Self.writer, original, compressor])
        let intact = try Data(contentsOf: URL(fileURLWithPath: original))
        let first = outcome(original)
        #expect(!first.hasPrefix("error"), "\(first)")
        #expect(outcome(original, alone: true) == first)
        let appended = intact.firstRange(of: Data("<AppendedData".utf8))!.upperBound
        var rng = SplitMix(state: UInt64(ProcessInfo.processInfo.environment["LAKE_FUZZ_SEED"] ?? "") ?? 20261204)
        var refused = 0
        for index in 0..<10 {
            var mutant = intact
            // Several flips: failures in several pieces at once, which the order must decide.
            for _ in 0..<Int.random(in: 2...8, using: &rng) {
                let at = Int.random(in: appended..<(mutant.count - 30), using: &rng)
                mutant[at] ^= UInt8.random(in: 1...255, using: &rng)
            }
            let path = directory.write("mutant-\(index).vtu", mutant)
            let once = outcome(path), alone = outcome(path, alone: true)
            #expect(once == alone, "mutant \(index) of the \(compressor) file: \(once.prefix(300)) against \(alone.prefix(300))")
            if once.hasPrefix("error") { refused += 1 }
        }
        // Flipped compressed bytes fail their block's checksum; raw flips change values only.
        if compressor == "zlib" { #expect(refused >= 8) }
    }
}
