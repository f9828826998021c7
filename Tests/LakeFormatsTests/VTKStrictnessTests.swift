import Foundation
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFormats

/// Every item of the strictness list: bad input fails with a reason a person can act on.
@Suite struct VTKStrictnessTests {
    let directory = TemporaryDirectory("vtk-bad")

    func fixture(_ name: String) -> Data { try! Data(contentsOf: URL(fileURLWithPath: VTKFixtures.path(name))) }

    func replacing(_ data: Data, _ old: String, _ new: String) -> Data {
        let range = data.range(of: Data(old.utf8))!
        var copy = data
        copy.replaceSubrange(range, with: Data(new.utf8))
        return copy
    }

    /// The failure reason for `data` read as `format`, or "accepted".
    func reason(_ data: Data, _ format: FileFormat = .vtu, name: String = "bad") -> String {
        let path = directory.write("\(name).\(format.rawValue)", data)
        do {
            _ = try VTKDatasetReader.fields(of: ReadableFile(path: path), format: format, budget: ProcessingBudget(limitSeconds: 20))
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    /// Offset of the appended data (just after the `_` marker).
    func appendedStart(_ data: Data) -> Int {
        data.range(of: Data("<AppendedData".utf8))!.upperBound + data[data.range(of: Data("<AppendedData".utf8))!.upperBound...].firstIndex(of: UInt8(ascii: "_"))! - data.range(of: Data("<AppendedData".utf8))!.upperBound + 1
    }

    @Test func truncatedXML() {
        let data = fixture("enc-ascii-none-u32-le.vtu")
        #expect(reason(data.prefix(data.count / 2)).contains("truncated"))
    }

    @Test func truncatedAppendedData() {
        let data = fixture("enc-raw-none-u32-le.vtu")
        #expect(reason(data.prefix(data.count - 200)).contains("truncated"))
    }

    @Test func declaredTuplesLargerThanTheData() {
        let ascii = replacing(fixture("enc-ascii-none-u32-le.vtu"), "NumberOfPoints=\"40\"", "NumberOfPoints=\"41\"")
        #expect(reason(ascii).contains("should hold 41"))
        let raw = replacing(fixture("enc-raw-none-u32-le.vtu"), "NumberOfPoints=\"40\"", "NumberOfPoints=\"41\"")
        #expect(reason(raw).contains("should hold 41 tuples"))
    }

    @Test func aTinyFileClaimingAHugeTupleCountAllocatesNothing() {
        let data = replacing(fixture("enc-raw-zlib-u32-le.vtu"), "NumberOfPoints=\"40\"", "NumberOfPoints=\"1000000000000\"")
        #expect(reason(data).contains("should hold 1000000000000 tuples"))
    }

    @Test func invalidBase64() {
        let data = fixture("enc-binary-none-u32-le.vtu")
        let start = data.range(of: Data("format=\"binary\"".utf8))!.upperBound
        let text = data[start...].firstIndex(of: UInt8(ascii: "\n"))! + 20
        var bad = data
        bad[text] = UInt8(ascii: "*")
        #expect(reason(bad).contains("invalid base64 character '*'"))
    }

    @Test func base64OfTheWrongLength() {
        let data = fixture("enc-binary-none-u32-le.vtu")
        let start = data.range(of: Data("format=\"binary\"".utf8))!.upperBound
        let text = data[start...].firstIndex(of: UInt8(ascii: "\n"))! + 20
        var bad = data
        bad.removeSubrange(text..<(text + 4))
        #expect(reason(bad).contains("base64 data of the wrong length"))
    }

    @Test(arguments: ["zlib", "lz4", "lzma"])
    func corruptCompressedBlocks(compressor: String) {
        var data = fixture("enc-raw-\(compressor)-u32-le.vtu")
        let start = appendedStart(data)
        // Past the first array's 16-byte header, into its compressed block. zlib and LZMA carry
        // checksums; LZ4 blocks do not, so for LZ4 the block's structure is broken instead
        // (0xFF lengths run past the block), which must be caught.
        for i in (start + 16)..<(start + 24) { data[i] = compressor == "lz4" ? 0xFF : data[i] ^ 0x5A }
        #expect(reason(data).contains("cannot be decoded"), "\(reason(data))")
    }

    @Test func blockHeaderSizesExceedingTheData() {
        var data = fixture("enc-raw-zlib-u32-le.vtu")
        let start = appendedStart(data)
        // csize_0 is the fourth UInt32 of the first header.
        data.replaceSubrange((start + 12)..<(start + 16), with: [0xFF, 0xFF, 0xFF, 0x7F])
        #expect(reason(data).contains("exceed the data in the file"))
    }

    @Test func aBlockThatInflatesBeyondItsDeclaredSize() {
        var data = fixture("enc-raw-zlib-u32-le.vtu")
        let start = appendedStart(data)
        // Declare the (only) block smaller than it really inflates to.
        data.replaceSubrange((start + 8)..<(start + 12), with: [16, 0, 0, 0])
        data.replaceSubrange((start + 4)..<(start + 8), with: [16, 0, 0, 0])
        let why = reason(data)
        #expect(why.contains("should hold") || why.contains("more bytes than its header declares"), "\(why)")
    }

    /// A block size of 2 GiB is what VTK writes with `SetBlockSize(2 GiB)`: an array of one block
    /// (its last, whose size is declared apart) is read as before. A header that claims two such
    /// blocks is refused at once (its sizes no longer match the data), nothing allocated.
    @Test func aCompressionHeaderClaimingGiantBlocksIsReadByWhatItDeclares() throws {
        let original = fixture("enc-raw-zlib-u32-le.vtu")
        let start = appendedStart(original)
        var giant = original
        giant.replaceSubrange((start + 4)..<(start + 8), with: [0, 0, 0, 0x80])   // 2 GiB blocks
        let fields = { (data: Data) in
            try VTKDatasetReader.fields(of: ReadableFile(path: self.directory.write("giant.vtu", data)), format: .vtu)
        }
        #expect(try fields(giant) == fields(original))
        var two = giant
        two.replaceSubrange(start..<(start + 4), with: [2, 0, 0, 0])
        #expect(reason(two).hasPrefix("DataArray 'p_Int8'"), "\(reason(two))")
    }

    /// An LZMA block whose dictionary (128 MiB) would take more memory than a file may cost.
    @Test func anLZMABlockAskingForTooMuchMemory() {
        var data = fixture("enc-raw-lzma-u32-le.vtu")
        let start = appendedStart(data)
        let header = data[start..<(start + 16)].withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
        let blockStart = start + (3 + Int(header[0])) * 4
        let block = Array(data[blockStart..<(blockStart + Int(header[3]))])
        data.replaceSubrange(blockStart..<(blockStart + block.count), with: StreamedBlockTests.withDictionary(block, code: 30))
        #expect(reason(data).contains("asks for more than 80 MiB of memory to decode"), "\(reason(data))")
    }

    @Test func oversizedUncompressedHeader() {
        var data = fixture("enc-raw-none-u64-le.vtu")
        let start = appendedStart(data)
        data.replaceSubrange(start..<(start + 8), with: [0, 0, 0, 0, 0, 0, 0, 0x10])
        #expect(reason(data).contains("remain in the file"))
    }

    @Test func offsetPastTheEnd() {
        let data = fixture("enc-raw-none-u32-le.vtu")
        let range = data.range(of: Data("offset=\"0\"".utf8))!
        var bad = data
        bad.replaceSubrange(range, with: Data("offset=\"99999999\"".utf8).prefix(range.count + 7))
        #expect(reason(bad).contains("past the end of the file"))
    }

    @Test func unknownTypeAndCompressor() {
        #expect(reason(replacing(fixture("enc-ascii-none-u32-le.vtu"), "type=\"Float64\"", "type=\"Float128\"")).contains("unknown type 'Float128'"))
        #expect(reason(replacing(fixture("enc-raw-zlib-u32-le.vtu"), "vtkZLibDataCompressor", "vtkZstdDataCompressor")).contains("unsupported compressor 'vtkZstdDataCompressor'"))
    }

    @Test func aRootThatIsNotVTKFile() {
        var data = replacing(fixture("enc-ascii-none-u32-le.vtu"), "<VTKFile", "<Other")
        data = replacing(data, "</VTKFile>", "</Other>")
        #expect(reason(data).contains("the root element is <Other>"))
    }

    @Test func aTypeThatDoesNotMatchTheExtension() {
        #expect(reason(fixture("enc-raw-none-u32-le.vtu"), .vtp).contains("must hold PolyData, but bad.vtp holds UnstructuredGrid"))
        #expect(reason(fixture("sphere.vtp"), .vtu).contains("must hold UnstructuredGrid"))
    }

    @Test func nonXMLBytes() {
        var random = SystemRandomNumberGenerator()
        let bytes = Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) })
        #expect(reason(Data("\u{01}".utf8) + bytes).contains("not an XML file"))
    }

    @Test func doctypeAndEntitiesAreRefusedUnresolved() {
        let data = fixture("enc-ascii-none-u32-le.vtu")
        let doctype = "<?xml version=\"1.0\"?>\n<!DOCTYPE VTKFile [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
        #expect(reason(Data(doctype.utf8) + data).contains("DOCTYPE or entities"))
        let entity = replacing(data, "Name=\"p_Float64\"", "Name=\"&x;\"")
        #expect(reason(entity).contains("the entity &x; is not defined"))
    }

    @Test func aFileThatChangesTypeMidway() {
        // An Int32 array whose ascii values turn into floats halfway.
        let data = fixture("enc-ascii-none-u32-le.vtu")
        let start = data.range(of: Data("Name=\"p_Int32\"".utf8))!.upperBound
        let firstValue = data[start...].firstIndex(of: UInt8(ascii: "\n"))! + 1
        var bad = data
        bad.insert(contentsOf: Data(" 1.5 ".utf8), at: firstValue)
        #expect(reason(bad).contains("'1.5' is not a valid Int32"))
    }

    @Test func anArrayWhoseTypeChangesBetweenPieces() {
        let text = """
            <VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian">
            <UnstructuredGrid>
            <Piece NumberOfPoints="2" NumberOfCells="0"><PointData><DataArray type="Float32" Name="p" format="ascii">1 2</DataArray></PointData></Piece>
            <Piece NumberOfPoints="2" NumberOfCells="0"><PointData><DataArray type="Int32" Name="p" format="ascii">3 4</DataArray></PointData></Piece>
            </UnstructuredGrid>
            </VTKFile>
            """
        #expect(reason(Data(text.utf8)).contains("changes type between pieces"))
        let pooled = text.replacingOccurrences(of: "type=\"Int32\"", with: "type=\"Float32\"")
        #expect(reason(Data(pooled.utf8)) == "accepted")
    }

    @Test func theTimeBudgetStopsAnEndlessFile() throws {
        let path = directory.write("slow.vtu", fixture("enc-ascii-none-u32-le.vtu"))
        #expect(throws: FormatError.self) {
            try VTKDatasetReader.fields(of: ReadableFile(path: path), format: .vtu, budget: ProcessingBudget(limitSeconds: -1))
        }
    }

    /// Fields of 64 KiB–8 MiB are computed several at once; the reason is still the first bad
    /// field's in the file's order, whichever thread failed first.
    @Test func theFirstBadFieldIsTheReasonWhenFieldsAreComputedTogether() {
        let tuples = 20_000      // 80 KB of Float32 each
        let values = (0..<tuples).map { String(Double($0) * 0.5) }
        func array(_ name: String, damagedAt: Int?) -> String {
            var text = values
            if let damagedAt { text[damagedAt] = "oops" }
            return "<DataArray type=\"Float32\" Name=\"\(name)\" format=\"ascii\">\(text.joined(separator: " "))</DataArray>\n"
        }
        let points = (0..<(3 * tuples)).map { String($0 % 97) }.joined(separator: " ")
        // f2 is damaged near its end, f3 at its start: f3's failure comes first in time.
        let fields = array("f0", damagedAt: nil) + array("f1", damagedAt: nil) + array("f2", damagedAt: tuples - 2)
            + array("f3", damagedAt: 1) + array("f4", damagedAt: nil)
        let text = """
            <?xml version="1.0"?>
            <VTKFile type="UnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64"><UnstructuredGrid>
            <Piece NumberOfPoints="\(tuples)" NumberOfCells="0"><PointData>
            \(fields)</PointData><Points><DataArray type="Float32" NumberOfComponents="3" format="ascii">\(points)</DataArray></Points>
            <Cells><DataArray type="Int64" Name="connectivity" format="ascii"></DataArray>
            <DataArray type="Int64" Name="offsets" format="ascii"></DataArray>
            <DataArray type="UInt8" Name="types" format="ascii"></DataArray></Cells>
            </Piece></UnstructuredGrid></VTKFile>

            """
        for _ in 0..<5 {
            let why = reason(Data(text.utf8))
            #expect(why.contains("'f2'") && !why.contains("'f3'"), "\(why)")
        }
    }
}
