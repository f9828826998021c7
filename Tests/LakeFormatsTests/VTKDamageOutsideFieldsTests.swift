import Foundation
import LakeModel
import LakeSystem
import Testing
import LakeTestSupport
@testable import LakeFormats

/// Files written by VTK 9.7 and then damaged outside the arrays statistics read (FieldData,
/// string arrays, points, cells), by `Fixtures/make_damaged_fixtures.py`. Each must fail with a
/// reason that names the damaged array; the intact originals must stay READY.
@Suite struct VTKDamageOutsideFieldsTests {
    struct Case: Decodable {
        var array: String?
        var vtk_reader_fails: Bool
    }

    static let cases: [String: Case] = {
        let data = try! Data(contentsOf: URL(fileURLWithPath: VTKFixtures.path("damaged/damaged.json")))
        return try! JSONDecoder().decode([String: Case].self, from: data)
    }()

    func reason(_ name: String) -> String {
        do {
            _ = try VTKDatasetReader.fields(of: ReadableFile(path: VTKFixtures.path("damaged/" + name)), format: .vtu,
                                            budget: ProcessingBudget(limitSeconds: 20))
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test(arguments: cases.keys.sorted())
    func eachDamagedArrayIsNamed(file: String) {
        let why = reason(file)
        guard let array = Self.cases[file]!.array else {
            #expect(why == "accepted", "\(file): \(why)")
            return
        }
        #expect(why != "accepted", "\(file) was accepted")
        #expect(why.contains("'\(array)'"), "\(file): \(why)")
    }

    @Test func theThreeFieldDataFilesOfTheReviewSayWhatIsWrong() {
        #expect(reason("fielddata-header-overclaims.vtu").contains("FieldData array 'TimeValue'"))
        #expect(reason("fielddata-offset-past-end.vtu").contains("past the end of the file"))
        #expect(reason("fielddata-tuples-mismatch.vtu").contains("should hold 1000 tuples"))
        #expect(reason("fielddata-strings-mismatch.vtu").contains("declares 5 strings, but its data holds 2"))
        #expect(reason("points-corrupt-stream.vtu").contains("Points array 'Points'"))
    }

    @Test func anOverclaimingHeaderInsideTheFileIsCaughtByTheNextArray() {
        let why = reason("connectivity-overlaps-next.vtu")
        #expect(why.contains("into Cells array 'offsets'"), "\(why)")
    }

    /// Found by the mutation fuzzer: counts near Int64.max once overflowed into a trap.
    @Test(arguments: ["NumberOfCells=\"20\"", "NumberOfPoints=\"50\"", "NumberOfTuples=\"3\""])
    func hugeDeclaredCountsAreRefusedNotTrapped(attribute: String) throws {
        let original = try String(contentsOfFile: VTKFixtures.path("damaged/intact-raw.vtu"), encoding: .isoLatin1)
        let huge = attribute.replacingOccurrences(of: #""[0-9]+""#, with: "\"9223372036854775807\"", options: .regularExpression)
        let directory = TemporaryDirectory("huge")
        let path = directory.write("huge.vtu", original.replacingOccurrences(of: attribute, with: huge).data(using: .isoLatin1)!)
        #expect(throws: FormatError.self) {
            _ = try VTKDatasetReader.fields(of: ReadableFile(path: path), format: .vtu, budget: ProcessingBudget(limitSeconds: 20))
        }
    }
}
