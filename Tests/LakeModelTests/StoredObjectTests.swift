import Foundation
import Testing
@testable import LakeModel

/// `object.json` made from stored provisions must be the very bytes the decoded object encodes
/// to: the mount reports its size from one and a reader may compare it with `lake show --json`.
@Suite struct StoredObjectTests {
    static func stats(_ seed: Double, count: Int64 = 1000, nan: Int64 = 0, empty: Bool = false) -> FieldStats {
        empty ? FieldStats(count: 0, nanCount: nan, min: nil, max: nil, mean: nil, stdev: nil, hist128: Array(repeating: 0, count: 128))
              : FieldStats(count: count, nanCount: nan, min: -seed * 1e-7, max: seed * 3e21, mean: seed / 3, stdev: .pi * seed,
                           hist128: (0..<128).map { Int64($0) * Int64(seed.rounded()) })
    }

    static func processed(label: String = "p", tags: [String: JSONValue] = [:]) -> LakeObject {
        let fields: [Provision] = [
            .field(Field(label: label, elementAssoc: .point, numComponents: 1, numTuples: 1000, dataType: "Float32", hasNan: true,
                         componentStats: [ComponentStats(name: "0", stats: stats(1.5, nan: 17))], magnitudeStats: stats(1.5, nan: 17))),
            .field(Field(label: "U", elementAssoc: .cell, numComponents: 3, numTuples: 7, dataType: "Float64", hasNan: false,
                         componentStats: ["X", "Y", "Z"].map { ComponentStats(name: $0, stats: stats(2)) }, magnitudeStats: stats(9),
                         quantityType: "velocity", units: "m/s")),
            .field(Field(label: "empty", elementAssoc: .point, numComponents: 1, numTuples: 0, dataType: "Int64", hasNan: false,
                         componentStats: [], magnitudeStats: stats(0, empty: true))),
            .geometry(Geometry(units: "mm", triangleCount: 2, bounds: Bounds(min: [0, -1e-300, 0], max: [1, 1, .greatestFiniteMagnitude]))),
        ]
        return LakeObject(
            id: LakeID.make(.object, at: 1_800_000_000_000), name: "run \"7\": [a, b] {c}", description: "line\nbreak\ttab \\ é 💧",
            file: ObjectFile(name: "run.vtu", blob: BlobInfo(id: String(repeating: "a", count: 64), size: 12, uri: "file:///x",
                                                              contentHash: ContentHash(sha256: String(repeating: "a", count: 64), md5: "m"))),
            format: .vtu, status: .ready, params: ["mach": Param(value: .number(0.8))], tags: tags,
            provisions: fields, warnings: ["a \"warning\", with: punctuation [1]"],
            createdAt: Timestamp(microseconds: 1_800_000_000_000_000), createdBy: "root")
    }

    static func expected(_ object: LakeObject) -> [UInt8] { Array((LakeJSON.string(object, pretty: true) + "\n").utf8) }

    @Test func laysOutStoredProvisionsAsTheEncoderDoes() throws {
        let awkward: [String: JSONValue] = [
            // What the splice looks for, one level down, and brackets, quotes and escapes in strings.
            "provisions": .array([]), "x\n  \"provisions\" : [": .string("]\n\n  ]"), "q": .string("\\\"[{,:}]"),
            "nested": .object(["a": .array([.array([]), .object([:]), .null, .bool(true), .number(-0.5)])]),
        ]
        for object in [Self.processed(), Self.processed(label: "a,b:c[d]{e}\"f\\", tags: awkward),
                       LakeObject(id: LakeID.make(.object, at: 2), name: "f", description: "", file: ObjectFile(name: "f", blob: nil),
                                  format: .unknown, status: .uploaded, createdAt: Timestamp(microseconds: 1), createdBy: "")] {
            let stored = StoredObject(object)
            #expect(stored.object.provisions.isEmpty)
            let made = try #require(stored.prettyJSON)
            let same = made == Self.expected(object)   // (a Bool: the bytes would flood a failure's message)
            #expect(same, "\(object.name)")
            // And it is the object: decoding it gives back every provision.
            #expect(try LakeJSON.decoder().decode(LakeObject.self, from: Data(made)) == object)
        }
    }

    @Test func textLaidOutTwiceOrWithOtherSpacingComesOutTheSame() {
        let object = Self.processed()
        let compact = LakeJSON.compactString(object.provisions)
        let spaced = LakeJSON.string(object.provisions, pretty: true)   // stored by someone else's encoder
        let fromPretty = StoredObject(object: object, provisionsJSON: spaced).prettyJSON == Self.expected(object)
        let fromCompact = StoredObject(object: object, provisionsJSON: compact).prettyJSON == Self.expected(object)
        #expect(fromPretty && fromCompact)
    }

    @Test func damagedStoredTextIsRefusedNotLaidOut() {
        let object = Self.processed()
        for damaged in ["", "[", "[{]", "[}", "]", "[\"open", "[1]]", "{\"a\":1}", "[[1]"] {
            #expect(StoredObject(object: object, provisionsJSON: damaged).prettyJSON == nil, "\(damaged)")
        }
        // A damaged byte anywhere (a catalog read from a failing disk): never a crash; what is
        // still JSON is laid out as the same JSON.
        let compact = Array(LakeJSON.compactString(object.provisions).utf8)
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        for _ in 0..<1500 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            var damaged = compact
            damaged[Int(state % UInt64(damaged.count))] = UInt8(truncatingIfNeeded: state >> 32)
            let text = String(decoding: damaged, as: UTF8.self)
            guard let made = StoredObject(object: object, provisionsJSON: text).prettyJSON,
                  let stillJSON = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { continue }
            let whole = try? JSONSerialization.jsonObject(with: Data(made)) as? [String: Any]
            #expect(whole.map { NSArray(array: $0["provisions"] as? [Any] ?? []).isEqual(stillJSON) } == true)
        }

        var bytes: [UInt8] = []
        #expect(PrettyJSON.append("[\"a\\\"]\"]", depth: 0, to: &bytes))
        #expect(String(decoding: bytes, as: UTF8.self) == "[\n  \"a\\\"]\"\n]")
    }
}
