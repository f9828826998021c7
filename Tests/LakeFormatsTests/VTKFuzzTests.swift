import Foundation
import LakeModel
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFormats

/// A seeded mutation fuzzer for the VTK reader: random flips, truncations, insertions and
/// number rewrites in the XML header of real fixtures. A crash takes the test process down;
/// LAKE_FUZZ_SEED changes the sequence.
/// every mutant must be read or refused with an error. LAKE_FUZZ_ITERATIONS raises the count.
@Suite struct VTKFuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["LAKE_FUZZ_ITERATIONS"] ?? "") ?? 1500

    static let numbers = ["0", "-1", "1", "3", "255", "4294967295", "4294967296", "18446744073709551615", "9223372036854775807",
                          "1e308", "nan", "", "99999999999999999999999"]

    func mutate(_ input: Data, _ rng: inout SplitMix) -> Data {
        var data = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard !data.isEmpty else { break }
            switch Int.random(in: 0..<6, using: &rng) {
            case 0:
                let i = Int.random(in: 0..<data.count, using: &rng)
                data[i] ^= UInt8.random(in: 1...255, using: &rng)
            case 1:
                data = data.prefix(Int.random(in: 0..<data.count, using: &rng))
            case 2:
                let i = Int.random(in: 0...data.count, using: &rng)
                data.insert(contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: i)
            case 3:
                let i = Int.random(in: 0..<data.count, using: &rng)
                let j = min(data.count, i + Int.random(in: 1...64, using: &rng))
                data.removeSubrange(i..<j)
            default:
                // Rewrite a number inside a quoted attribute of the XML header.
                let headerEnd = min(data.count, data.firstRange(of: Data("<AppendedData".utf8))?.lowerBound ?? data.count)
                let quotes = data.prefix(headerEnd).indices.filter { data[$0] == UInt8(ascii: "\"") }
                guard quotes.count >= 2 else { break }
                let q = Int.random(in: 0..<(quotes.count / 2), using: &rng) * 2
                guard q + 1 < quotes.count else { break }
                let value = Self.numbers.randomElement(using: &rng)!
                data.replaceSubrange((quotes[q] + 1)..<quotes[q + 1], with: Data(value.utf8))
            }
        }
        return data
    }

    @Test func mutantsAreReadOrRefusedNeverCrash() throws {
        let directory = TemporaryDirectory("fuzz")
        // The intact damaged/ originals carry FieldData, a string array and UInt64 headers.
        let names = VTKFixtures.datasetNames.filter { !$0.contains("special") } + ["damaged/intact-raw.vtu", "damaged/intact-zlib.vtu"]
        let seeds = names.map { name in
            (name, try! Data(contentsOf: URL(fileURLWithPath: VTKFixtures.path(name))))
        }
        var rng = SplitMix(state: UInt64(ProcessInfo.processInfo.environment["LAKE_FUZZ_SEED"] ?? "") ?? 20261122)
        var refused = 0, accepted = 0
        for iteration in 0..<Self.iterations {
            let (name, seed) = seeds[iteration % seeds.count]
            let mutant = mutate(seed, &rng)
            let format: FileFormat = name.hasSuffix(".vtp") ? .vtp : .vtu
            let path = directory.write("m\(iteration % 8).\(format.rawValue)", mutant)
            do {
                _ = try VTKDatasetReader.fields(of: ReadableFile(path: path), format: format, budget: ProcessingBudget(limitSeconds: 10))
                accepted += 1
            } catch is FormatError {
                refused += 1
            } catch is SystemError {
                refused += 1
            }
        }
        #expect(refused > Self.iterations / 2, "most mutants should be refused (refused \(refused), accepted \(accepted))")
    }
}
