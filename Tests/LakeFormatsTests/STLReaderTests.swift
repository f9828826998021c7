import Foundation
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFormats

@Suite struct STLReaderTests {
    let directory = TemporaryDirectory("stl")

    func read(_ name: String, _ data: Data) throws -> Geometry {
        try STLReader.geometry(of: ReadableFile(path: directory.write(name, data)), units: "mm")
    }

    func failure(_ name: String, _ data: Data) -> String {
        do {
            _ = try read(name, data)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test func asciiCountsTrianglesAndBounds() throws {
        let geometry = try read("a.stl", Data(Fixtures.asciiSTL(triangles: 3).utf8))
        #expect(geometry == Geometry(units: "mm", triangleCount: 3, bounds: Bounds(min: [0, 0, -2.5], max: [3, 1, 0])))
    }

    @Test func binaryIsDecidedBySizeEvenWithASolidHeader() throws {
        let triangles: [[Float]] = [[0, 0, 0, 1, 0, 0, 0, 1, 0], [-1, 2, 3, 4, 5, 6, 7, 8, 9.5]]
        let geometry = try read("b.stl", Fixtures.binarySTL(triangles: triangles, header: "solid but binary"))
        #expect(geometry == Geometry(units: "mm", triangleCount: 2, bounds: Bounds(min: [-1, 0, 0], max: [7, 8, 9.5])))
    }

    @Test func asciiOverManyChunksStaysCorrect() throws {
        // Over 1 MiB of text, so tokens straddle the reader's chunk boundary.
        let geometry = try read("big.stl", Data(Fixtures.asciiSTL(triangles: 12_000).utf8))
        #expect(geometry.triangleCount == 12_000)
        #expect(geometry.bounds == Bounds(min: [0, 0, -2.5], max: [12_000, 1, 0]))
    }

    @Test func binaryCountLargerThanTheDataFails() {
        var data = Fixtures.binarySTL(triangles: [[0, 0, 0, 1, 0, 0, 0, 1, 0]])
        data[80] = 9   // claims 9 triangles, holds 1
        let reason = failure("c.stl", data)
        #expect(reason.contains("claims 9 triangles"))
        #expect(reason.contains("134 bytes"))
    }

    @Test func truncatedBinaryFails() {
        let data = Fixtures.binarySTL(triangles: [[0, 0, 0, 1, 0, 0, 0, 1, 0], [0, 0, 0, 1, 0, 0, 0, 1, 0]])
        #expect(failure("d.stl", data.prefix(120)).contains("claims 2 triangles"))
    }

    @Test func nonFiniteBinaryCoordinatesFail() {
        let data = Fixtures.binarySTL(triangles: [[0, 0, .nan, 1, 0, 0, 0, 1, 0]])
        #expect(failure("n.stl", data).contains("non-finite"))
    }

    @Test func asciiProblemsNameTheLine() {
        let text = Fixtures.asciiSTL(triangles: 2)
        #expect(failure("e.stl", Data(text.replacingOccurrences(of: "vertex 1 0 0", with: "vertex 1 zero 0").utf8))
            .contains("expected a number for the y of a vertex, found 'zero'"))
        #expect(failure("f.stl", Data(text.prefix(text.count - 40).utf8)).contains("truncated"))
        #expect(failure("g.stl", Data(text.replacingOccurrences(of: "endloop", with: "endlop").utf8)).contains("line 7"))
        #expect(failure("h.stl", Data("solid x\n facet normal 0 0 1\n outer loop\n vertex 0 0 0\n vertex 1 1 1\n endloop\n".utf8))
            .contains("a facet has exactly 3 vertices"))
        #expect(failure("i.stl", Data("hello world, not an stl file at all".utf8)).contains("'solid'"))
        #expect(failure("j.stl", Data()).contains("solid"))
    }
}

@Suite struct STEPReaderTests {
    let directory = TemporaryDirectory("step")

    @Test func acceptsTheISOHeaderAndKeepsContentsOpaque() throws {
        let file = try ReadableFile(path: directory.write("a.step", "\u{FEFF}\n" + Fixtures.step))
        #expect(try STEPReader.geometry(of: file, units: "m") == Geometry(units: "m"))
    }

    @Test func rejectsAFileThatIsNotSTEP() throws {
        let file = try ReadableFile(path: directory.write("b.step", "solid not a step file"))
        #expect(throws: FormatError.self) { try STEPReader.geometry(of: file, units: nil) }
        do { _ = try STEPReader.geometry(of: file, units: nil) } catch {
            #expect("\(error)".contains("starts with 'solid not a step f"))
        }
    }
}

@Suite struct ProcessingBudgetTests {
    @Test func anExpiredBudgetStopsAReader() throws {
        let directory = TemporaryDirectory("budget")
        let file = try ReadableFile(path: directory.write("slow.stl", Fixtures.asciiSTL(triangles: 10)))
        #expect(throws: FormatError.self) {
            try STLReader.geometry(of: file, units: nil, budget: ProcessingBudget(limitSeconds: -1))
        }
    }
}
