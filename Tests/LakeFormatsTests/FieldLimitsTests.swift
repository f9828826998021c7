import Foundation
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFormats

/// At most `FieldLimits.series` statistics series per object, counted as the docs say: each
/// component of a field and its magnitude; FieldData, strings and the points' coordinates are
/// not fields.
@Suite struct FieldLimitsTests {
    let directory = TemporaryDirectory("field-limits")

    /// A one-point VTP whose point fields have the given component counts (ascii values), plus
    /// arrays that are not fields.
    func file(_ name: String, widths: [Int], prefix: String = "f") -> String {
        var text = """
            <VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64"><PolyData>
            <FieldData><DataArray type="Float64" Name="time" NumberOfTuples="1" format="ascii">1</DataArray></FieldData>
            <Piece NumberOfPoints="1" NumberOfVerts="0" NumberOfLines="0" NumberOfStrips="0" NumberOfPolys="0"><PointData>
            <Array type="String" Name="note" NumberOfTuples="1" format="ascii">104 105 0</Array>

            """
        for (index, width) in widths.enumerated() {
            let values = (0..<width).map { String($0 + index) }.joined(separator: " ")
            text += "<DataArray type=\"Float32\" Name=\"\(prefix)\(index)\" NumberOfComponents=\"\(width)\" format=\"ascii\">\(values)</DataArray>\n"
        }
        text += """
            </PointData><Points><DataArray type="Float32" NumberOfComponents="3" format="ascii">0 0 0</DataArray></Points>
            </Piece></PolyData></VTKFile>
            """
        return directory.write(name, Data(text.utf8))
    }

    func read(_ paths: [String]) throws -> [Field] {
        try VTKDatasetReader.fields(of: paths.map { Block(file: try ReadableFile(path: $0), format: .vtp, name: Path.lastComponent(of: $0)) },
                                    budget: ProcessingBudget(limitSeconds: 120))
    }

    typealias Block = VTKDatasetReader.Block

    /// 8 arrays of 4,096 components (8 × 4,097 series), a 5-component one and 3,609 scalars (2
    /// series each): exactly the limit.
    static let atTheLimit = Array(repeating: 4096, count: 8) + [5] + Array(repeating: 1, count: 3_609)

    @Test func aFileOfExactlyTheLimitIsRead() throws {
        let fields = try read([file("limit.vtp", widths: Self.atTheLimit)])
        #expect(fields.count == Self.atTheLimit.count)
        #expect(fields.reduce(0) { $0 + $1.componentStats.count + 1 } == FieldLimits.series)
    }

    @Test func oneSeriesMoreIsRefusedWhileReadingWithAReason() throws {
        // One more component on the 5-component array.
        var widths = Self.atTheLimit
        widths[8] = 6
        let path = file("over.vtp", widths: widths)
        #expect(widths.reduce(0) { $0 + FieldLimits.series(components: $1) } == FieldLimits.series + 1)
        let error = try #require(throws: FormatError.self) { try read([path]) }
        #expect(error.message.contains("more than 40000 statistics series"), "\(error.message)")
        #expect(error.message.contains("split the arrays over several files"))
    }

    /// Each block alone is under the limit; a manifest's fields are their union.
    @Test func aManifestWhoseBlocksTogetherPassTheLimitIsRefusedWithTheirCount() throws {
        let half = Array(repeating: 1, count: 12_000)   // 24,000 series
        let first = file("a.vtp", widths: half, prefix: "a")
        let second = file("b.vtp", widths: half, prefix: "b")
        #expect(try read([first]).count == 12_000)
        let error = try #require(throws: FormatError.self) { try read([first, second]) }
        #expect(error.message.contains("need 48000 statistics series"), "\(error.message)")
        // The same fields in both blocks pool into one each: under the limit.
        let again = file("a2.vtp", widths: half, prefix: "a")
        #expect(try read([first, again]).count == 12_000)
    }

    /// FieldData arrays are not fields, but each is held until the file is processed: 300,000 of
    /// them (8.7 MB) took 111 MiB. At most 100,000 arrays, pieces and blocks per file.
    @Test func aFileOfMoreElementsThanTheLimitIsRefusedWhileReading() throws {
        func fieldData(_ name: String, arrays: Int, pieces: Int = 1) -> String {
            var text = "<VTKFile type=\"PolyData\" version=\"1.0\" byte_order=\"LittleEndian\"><PolyData><FieldData>\n"
            for index in 0..<arrays { text += "<DataArray type=\"Float32\" Name=\"t\(index)\" NumberOfTuples=\"1\" format=\"ascii\">1</DataArray>\n" }
            text += "</FieldData>\n"
            for _ in 0..<pieces {
                text += "<Piece NumberOfPoints=\"1\"><Points><DataArray type=\"Float32\" NumberOfComponents=\"3\" format=\"ascii\">0 0 0"
                    + "</DataArray></Points></Piece>\n"
            }
            return directory.write(name, Data((text + "</PolyData></VTKFile>\n").utf8))
        }
        // One piece and its points: two elements beside the FieldData arrays.
        #expect(try read([fieldData("at.vtp", arrays: FieldLimits.elements - 2)]).isEmpty)
        let error = try #require(throws: FormatError.self) { try read([fieldData("over.vtp", arrays: FieldLimits.elements - 1)]) }
        #expect(error.message.contains("more than 100000 arrays, pieces and blocks"), "\(error.message)")
        // Pieces count too: 50,001 pieces of one array each.
        let pieces = try #require(throws: FormatError.self) { try read([fieldData("pieces.vtp", arrays: 0, pieces: 50_001)]) }
        #expect(pieces.message.contains("more than 100000 arrays, pieces and blocks"))
    }
}
