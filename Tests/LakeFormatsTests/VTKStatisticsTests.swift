import Foundation
import LakeModel
import LakeSystem
import Testing
@testable import LakeFormats

func relativelyClose(_ a: Double?, _ b: Double?, _ tolerance: Double = 1e-9) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (let x?, let y?):
        if x == y { return true }
        return abs(x - y) <= tolerance * max(abs(x), abs(y), 1e-300)
    default: return false
    }
}

/// Compares derived statistics with numpy's: counts, min, max, hist128 exactly; mean and stdev
/// to a relative 1e-9.
func compare(_ actual: FieldStats, _ expected: FieldStats, _ context: String) -> [String] {
    var problems: [String] = []
    if actual.count != expected.count { problems.append("\(context): count \(actual.count) ≠ \(expected.count)") }
    if actual.nanCount != expected.nanCount { problems.append("\(context): nan_count \(actual.nanCount) ≠ \(expected.nanCount)") }
    if actual.min != expected.min { problems.append("\(context): min \(String(describing: actual.min)) ≠ \(String(describing: expected.min))") }
    if actual.max != expected.max { problems.append("\(context): max \(String(describing: actual.max)) ≠ \(String(describing: expected.max))") }
    if !relativelyClose(actual.mean, expected.mean) { problems.append("\(context): mean \(String(describing: actual.mean)) ≠ \(String(describing: expected.mean))") }
    if !relativelyClose(actual.stdev, expected.stdev) { problems.append("\(context): stdev \(String(describing: actual.stdev)) ≠ \(String(describing: expected.stdev))") }
    if actual.hist128 != expected.hist128 { problems.append("\(context): hist128 differs") }
    return problems
}

func compare(_ actual: [Field], _ expected: [Field], file: String) -> [String] {
    var problems: [String] = []
    let key = { (f: Field) in "\(f.label)/\(f.elementAssoc.rawValue)" }
    if actual.map(key).sorted() != expected.map(key).sorted() {
        return ["\(file): fields \(actual.map(key).sorted()) ≠ \(expected.map(key).sorted())"]
    }
    for e in expected {
        let a = actual.first { key($0) == key(e) }!
        let context = "\(file) \(key(e))"
        if a.numComponents != e.numComponents || a.numTuples != e.numTuples || a.dataType != e.dataType || a.hasNan != e.hasNan {
            problems.append("\(context): shape \(a.numComponents)×\(a.numTuples) \(a.dataType) nan=\(a.hasNan) ≠ \(e.numComponents)×\(e.numTuples) \(e.dataType) nan=\(e.hasNan)")
        }
        if a.componentStats.map(\.name) != e.componentStats.map(\.name) {
            problems.append("\(context): component names \(a.componentStats.map(\.name)) ≠ \(e.componentStats.map(\.name))")
        }
        for (ac, ec) in zip(a.componentStats, e.componentStats) { problems += compare(ac.stats, ec.stats, "\(context)[\(ec.name)]") }
        problems += compare(a.magnitudeStats, e.magnitudeStats, "\(context)[magnitude]")
    }
    return problems
}

@Suite struct VTKStatisticsTests {
    @Test(arguments: VTKFixtures.datasetNames)
    func statisticsMatchNumpy(name: String) throws {
        let format: FileFormat = name.hasSuffix(".vtp") ? .vtp : .vtu
        let fields = try VTKDatasetReader.fields(of: ReadableFile(path: VTKFixtures.path(name)), format: format)
        let problems = compare(fields, VTKFixtures.expected[name]!, file: name)
        #expect(problems.isEmpty, "\(problems.prefix(8).joined(separator: "\n"))")
    }

    @Test func fieldDataAndStringsAreNotFields() throws {
        let fields = try VTKDatasetReader.fields(of: ReadableFile(path: VTKFixtures.path("special-binary.vtu")), format: .vtu)
        #expect(!fields.contains { $0.label == "TimeValue" || $0.label == "labels" })
        #expect(fields.contains { $0.label == "température κ" && $0.elementAssoc == .cell })
    }

    @Test func aConstantFieldLandsInBin64AndAnEmptySeriesIsNull() throws {
        let fields = try VTKDatasetReader.fields(of: ReadableFile(path: VTKFixtures.path("special-raw.vtu")), format: .vtu)
        let constant = try #require(fields.first { $0.label == "constant" })
        #expect(constant.magnitudeStats.hist128[64] == 60 && constant.magnitudeStats.stdev == 0)
        let allNaN = try #require(fields.first { $0.label == "all NaN" })
        #expect(allNaN.magnitudeStats.count == 0 && allNaN.magnitudeStats.min == nil && allNaN.magnitudeStats.nanCount == 20)
        #expect(allNaN.hasNan)
    }

    @Test func histogramBinningFollowsNumpyAtTheEdges() {
        let binning = Binning(min: 0, max: 1)
        #expect(binning.bin(0) == 0)
        #expect(binning.bin(1) == 127)
        #expect(binning.bin(0.5) == 64)
        #expect(binning.bin(Double(1) / 128) == 1)
        #expect(binning.bin(Double(1) / 128 - 1e-17) == 0)
        let constant = Binning(min: 3, max: 3)
        #expect(constant.bin(3) == 64)
    }
}
