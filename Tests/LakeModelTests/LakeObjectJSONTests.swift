import Foundation
import Testing
@testable import LakeModel

@Suite struct LakeObjectJSONTests {
    func sample() -> LakeObject {
        LakeObject(
            id: LakeID.make(.object, at: 1_800_000_000_000), name: "wing", description: "d",
            file: ObjectFile(name: "wing.stl", blob: BlobInfo(id: String(repeating: "a", count: 64), size: 12, uri: "file:///x",
                                                               contentHash: ContentHash(sha256: String(repeating: "a", count: 64), md5: "m"))),
            format: .stl, status: .ready, params: ["mach": Param(value: .number(0.8))], tags: ["b": .number(1), "a": .string("x")],
            provisions: [.geometry(Geometry(units: "mm", triangleCount: 2, bounds: Bounds(min: [0, 0, 0], max: [1, 1, 1])))],
            createdAt: Timestamp(microseconds: 1_800_000_000_000_000), createdBy: "root")
    }

    @Test func usesSnakeCaseLuminaryNamesAndRoundTrips() throws {
        let object = sample()
        let text = LakeJSON.string(object)
        for key in ["\"failure_reason\":null", "\"content_references\":[]", "\"created_at\":\"2027-01-15T08:00:00.000000Z\"",
                    "\"created_by\":\"root\"", "\"content_hash\"", "\"etag\":\"m\"", "\"triangle_count\":2", "\"geometry\":{",
                    "\"tags\":{\"a\":\"x\",\"b\":1}", "\"kind\":\"object\"", "\"size\":12"] {
            #expect(text.contains(key), "missing \(key) in \(text)")
        }
        #expect(try LakeJSON.decode(LakeObject.self, from: text) == object)
    }

    @Test func fieldStatsEncodeNullsForEmptySeries() {
        let stats = FieldStats(count: 0, nanCount: 3, min: nil, max: nil, mean: nil, stdev: nil, hist128: Array(repeating: 0, count: 128))
        let text = LakeJSON.string(stats)
        #expect(text.contains("\"min\":null"))
        #expect(text.contains("\"nan_count\":3"))
    }
}
