import Foundation
import LakeModel
import Testing
@testable import LakeFS

/// `user.lake.provisions` must fit in an xattr (the kernel takes at most 64 KiB); what does not
/// fit is left out visibly, never silently.
@Suite struct XattrsTests {
    func field(_ index: Int) -> Provision {
        let stats = FieldStats(count: 1000, nanCount: 0, min: -1.5, max: 2.25, mean: 0.125, stdev: 0.75,
                               hist128: Array(repeating: 7, count: 128))
        return .field(Field(label: "field_with_a_long_name_\(index)", elementAssoc: .point, numComponents: 3, numTuples: 1000,
                            dataType: "Float32", hasNan: false,
                            componentStats: (0..<3).map { ComponentStats(name: "c\($0)", stats: stats) }, magnitudeStats: stats))
    }

    func decode(_ bytes: [UInt8]) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [[String: Any]])
    }

    @Test func whatFitsIsWholeAndSaysNothingIsMissing() throws {
        let value = Xattrs.provisions((0..<5).map(field), whole: "object.json")
        let items = try decode(value)
        #expect(items.count == 5 && items.allSatisfy { $0["field"] != nil })
        let first = try #require(items[0]["field"] as? [String: Any])
        #expect((first["component_stats"] as? [Any])?.count == 3)
        #expect(first["quantity_type"] is NSNull && first["units"] is NSNull)
    }

    @Test(arguments: [201, 1001, 20_000])
    func whatDoesNotFitIsCountedInALastElement(count: Int) throws {
        let value = Xattrs.provisions((0..<count).map(field), whole: "case.json")
        #expect(value.count <= Xattrs.limit)
        let items = try decode(value)
        let note = try #require(items.last?["omitted"] as? [String: Any], "no note of what was left out")
        let shown = items.dropLast()
        #expect(shown.allSatisfy { (($0["field"] as? [String: Any])?["component_stats"] as? [Any])?.isEmpty == true })
        #expect(note["fields"] as? Int == count - shown.count && note["of"] as? Int == count)
        #expect(note["component_stats"] as? Bool == true && note["whole"] as? String == "case.json")
        // Fields are dropped from the end, and no more than must be: one more would not fit.
        if count == 201 { #expect(shown.count > 150, "\(shown.count) of 201 shown") }
        // (The next summary and its comma, less a digit the note may lose, would pass the limit.)
        let nextSummary = ProvisionJSON.compactArray([field(shown.count).summary]).utf8.count - 2
        if shown.count < count { #expect(value.count + nextSummary + 1 - 1 > Xattrs.limit, "\(value.count) bytes: room for one more") }
    }
}
