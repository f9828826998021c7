import Foundation
import LakeTestSupport
import Testing
@testable import LakeModel

/// `ProvisionJSON` writes provisions by hand; the catalog stores its text and serves it verbatim
/// inside `object.json` and the xattrs, so it must be byte for byte what the general encoder writes.
@Suite struct ProvisionJSONTests {
    @Test func anEmptyListAndEdgeValuesAreWhatTheEncoderWrites() {
        #expect(ProvisionJSON.compactArray([]) == "[]")
        let edges: [Double?] = [nil, 0, -0.0, 1, -1, 0.1, -2.5e-8, 1e15, 1e15 - 1, 1e16, -1e16, 9_007_199_254_740_992, 1e21, 1e22,
                                .greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude, .infinity, -.infinity, .nan,
                                123456789.125, Double(Float.greatestFiniteMagnitude), Double(Float(0.1))]
        let stats = edges.map { FieldStats(count: 0, nanCount: 0, min: $0, max: $0, mean: $0, stdev: $0, hist128: []) }
        let provisions = stats.map { Provision.field(field(label: "f", components: [], magnitude: $0)) }
        #expect(ProvisionJSON.compactArray(provisions) == LakeJSON.compactString(provisions))
        let counts: [Int64] = [0, 1, 9, 10, 99, 100, 1_000_000_007, Int64.max, -1, Int64.min]
        let counted = FieldStats(count: Int64.max, nanCount: Int64.min, min: nil, max: nil, mean: nil, stdev: nil,
                                 hist128: counts + Array(repeating: 3, count: 118))
        let one = [Provision.field(field(label: "", components: [], magnitude: counted, tuples: Int64.max, width: Int.max))]
        #expect(ProvisionJSON.compactArray(one) == LakeJSON.compactString(one))
    }

    @Test func namesWithEveryKindOfCharacterAreEscapedAsTheEncoderDoes() {
        var labels = (0..<0x80).map { String(UnicodeScalar(UInt8($0))) }
        labels += ["quote \" backslash \\ slash / </script>", "café Ωmega 日本 🚀", "\u{2028}\u{2029}\u{FEFF}\u{10FFFF}", "e\u{301}", "é"]
        let stats = FieldStats(count: 1, nanCount: 0, min: 1, max: 1, mean: 1, stdev: 0, hist128: [])
        let provisions = labels.map { label in
            Provision.field(Field(label: label, elementAssoc: .cell, numComponents: 2, numTuples: 1, dataType: label, hasNan: true,
                                  componentStats: [ComponentStats(name: label, stats: stats), ComponentStats(name: "1", stats: stats)],
                                  magnitudeStats: stats, quantityType: label, units: label))
        }
        #expect(ProvisionJSON.compactArray(provisions) == LakeJSON.compactString(provisions))
    }

    /// Random fields: any bit pattern as a double, histograms of any counts, optional members
    /// present or not, geometries among them.
    @Test func randomProvisionsAreWhatTheEncoderWrites() {
        var random = SeededRandom(seed: 0x5EED)
        for round in 0..<200 {
            var provisions: [Provision] = []
            for _ in 0..<Int(random.next() % 6) {
                if random.next() % 8 == 0 {
                    provisions.append(.geometry(Geometry(units: random.next() % 2 == 0 ? "mm" : nil, triangleCount: Int64(bitPattern: random.next()),
                                                         bounds: Bounds(min: [random.double(), 0, -1], max: [random.double(), 2, 3]))))
                    continue
                }
                let components = Int(random.next() % 5)
                provisions.append(.field(field(label: "r\(round)", components: (0..<components).map { _ in random.stats() },
                                                magnitude: random.stats(), tuples: Int64(bitPattern: random.next()),
                                                units: random.next() % 2 == 0 ? nil : "m/s", quantity: random.next() % 3 == 0 ? "velocity" : nil)))
            }
            #expect(ProvisionJSON.compactArray(provisions) == LakeJSON.compactString(provisions), "round \(round)")
        }
    }

    /// What the reader makes of the writer's text is what Foundation's decoder makes of it
    /// (compared through the encoder: NaN is not equal to itself).
    @Test func theReaderReadsWhatTheWriterWrote() throws {
        var random = SeededRandom(seed: 0xFEED)
        for round in 0..<300 {
            let provisions = (0..<Int(random.next() % 5)).map { index in
                Provision.field(field(label: index % 2 == 0 ? "p\(round)" : "q \"\\/\u{1}\n é🚀", components: (0..<Int(random.next() % 4)).map { _ in random.stats() },
                                      magnitude: random.stats(), tuples: Int64(bitPattern: random.next()),
                                      units: random.next() % 2 == 0 ? nil : "m/s", quantity: random.next() % 3 == 0 ? "velocity" : nil))
            }
            let text = ProvisionJSON.compactArray(provisions)
            let read = try #require(ProvisionJSON.fields(from: text), "round \(round): not read")
            let decoded = try LakeJSON.decode([Provision].self, from: text)
            #expect(LakeJSON.compactString(read) == LakeJSON.compactString(decoded), "round \(round)")
            #expect(ProvisionJSON.compactArray(read) == text)
        }
        // Laid out otherwise: left to Foundation's decoder.
        let geometry = [Provision.geometry(Geometry(units: "mm"))]
        #expect(ProvisionJSON.fields(from: LakeJSON.compactString(geometry)) == nil)
        let pretty = LakeJSON.string([Provision.field(field(label: "a", components: [], magnitude: random.stats()))], pretty: true)
        #expect(ProvisionJSON.fields(from: pretty) == nil)
        #expect(ProvisionJSON.fields(from: "[]") == [])
        for bad in ["", "[", "[]]", "[] ", "{}", "[{\"field\":{}}]"] { #expect(ProvisionJSON.fields(from: bad) == nil, "\(bad)") }
    }

    /// Damaged text (a catalog row changed by hand, a bad disk): the reader accepts only what the
    /// decoder accepts too, and reads it alike; anything else it hands over (nil).
    @Test func damagedTextIsReadAsTheDecoderReadsItOrHandedOver() throws {
        var random = SeededRandom(seed: 0xBAD)
        let stats = FieldStats(count: 12, nanCount: 1, min: -1.5, max: 2e-7, mean: 0.25, stdev: 1e300, hist128: (0..<128).map { Int64($0 % 7) })
        let original = Array(ProvisionJSON.compactArray([.field(field(label: "T\u{1}\"", components: [stats, stats], magnitude: stats)),
                                                        .field(field(label: "p", components: [], magnitude: stats))]).utf8)
        let alphabet = Array("0123456789-+.eE\"\\,:[]{}nulltruefalsu ".utf8)
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes = original
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let at = Int(random.next() % UInt64(bytes.count))
                switch random.next() % 3 {
                case 0: bytes[at] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: bytes.remove(at: at)
                default: bytes.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: at)
                }
            }
            let text = String(decoding: bytes, as: UTF8.self)
            guard let read = ProvisionJSON.fields(from: text) else { continue }
            accepted += 1
            let decoded = try #require(try? LakeJSON.decode([Provision].self, from: text), "read, but the decoder refuses: \(text)")
            #expect(LakeJSON.compactString(read) == LakeJSON.compactString(decoded), "\(text)")
        }
        #expect(accepted > 100, "too few mutants stayed readable to compare (\(accepted))")
    }

    func field(label: String, components: [FieldStats], magnitude: FieldStats, tuples: Int64 = 4, width: Int? = nil,
               units: String? = nil, quantity: String? = nil) -> Field {
        Field(label: label, elementAssoc: .point, numComponents: width ?? max(components.count, 1), numTuples: tuples, dataType: "Float64",
              hasNan: magnitude.nanCount > 0, componentStats: components.enumerated().map { ComponentStats(name: "c\($0.offset)", stats: $0.element) },
              magnitudeStats: magnitude, quantityType: quantity, units: units)
    }
}

/// Random values for provisions, from a seeded generator (a failure can be replayed).
private struct SeededRandom {
    var generator: SplitMix
    init(seed: UInt64) { generator = SplitMix(state: seed) }

    mutating func next() -> UInt64 { generator.next() }

    /// Any bit pattern (NaN and infinities included) a third of the time, else ordinary values.
    mutating func double() -> Double {
        switch next() % 3 {
        case 0: return Double(bitPattern: next())
        case 1: return Double(Int64(bitPattern: next()) >> Int64(next() % 64))
        default: return Double(Float(bitPattern: UInt32(truncatingIfNeeded: next())))
        }
    }

    mutating func optionalDouble() -> Double? { next() % 5 == 0 ? nil : double() }

    mutating func stats() -> FieldStats {
        let histogram = next() % 4 == 0 ? [] : (0..<128).map { _ in Int64(bitPattern: next()) >> Int64(next() % 64) }
        return FieldStats(count: Int64(bitPattern: next()), nanCount: Int64(bitPattern: next()) >> 40, min: optionalDouble(),
                          max: optionalDouble(), mean: optionalDouble(), stdev: optionalDouble(), hist128: histogram)
    }
}
