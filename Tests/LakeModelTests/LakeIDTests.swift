import Testing
@testable import LakeModel

@Suite struct LakeIDTests {
    @Test func idsAreTimeOrderedEvenWithinOneMillisecond() {
        let ids = (0..<1000).map { _ in LakeID.make(.object, at: 1_800_000_000_000) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        let later = LakeID.make(.object, at: 1_800_000_000_001)
        #expect(ids.last! < later)
    }

    @Test func idsArePrefixedPathSafeAndValidate() throws {
        let id = LakeID.make(.dataset, at: 1_800_000_000_000)
        #expect(id.rawValue.hasPrefix("ds-"))
        #expect(id.rawValue.count == 3 + 26)
        #expect(!id.rawValue.contains("/"))
        #expect(try LakeID(validating: id.rawValue, kind: .dataset) == id)
        #expect(throws: InputError.self) { try LakeID(validating: id.rawValue, kind: .object) }
        #expect(throws: InputError.self) { try LakeID(validating: "obj-../../etc") }
        #expect(throws: InputError.self) { try LakeID(validating: "nonsense") }
    }
}

@Suite struct TimestampTests {
    @Test func rfc3339RoundTripsWithMicroseconds() throws {
        let time = Timestamp(microseconds: 1_795_000_123_456_789)
        #expect(time.rfc3339 == "2026-11-18T11:08:43.456789Z")
        #expect(Timestamp(rfc3339: time.rfc3339) == time)
        #expect(Timestamp(rfc3339: "1970-01-01T00:00:00Z") == Timestamp(microseconds: 0))
        #expect(Timestamp(rfc3339: "2000-02-29T12:00:00.5Z")?.rfc3339 == "2000-02-29T12:00:00.500000Z")
        #expect(Timestamp(rfc3339: "yesterday") == nil)
    }
}

@Suite struct FileFormatTests {
    @Test func formatComesFromTheExtension() {
        #expect(FileFormat(inferredFrom: "run.VTU") == .vtu)
        #expect(FileFormat(inferredFrom: "case.vtm") == .vtm)
        #expect(FileFormat(inferredFrom: "wing.stp") == .step)
        #expect(FileFormat(inferredFrom: "wing.step") == .step)
        #expect(FileFormat(inferredFrom: "body.stl") == .stl)
        #expect(FileFormat(inferredFrom: "surface.vtp") == .vtp)
        #expect(FileFormat(inferredFrom: "notes.txt") == .unknown)
        #expect(FileFormat(inferredFrom: ".vtu") == .unknown)
        #expect(FileFormat(inferredFrom: "README") == .unknown)
    }
}
