import Foundation
import LakeTestSupport
import Testing
@testable import LakeModel

/// `lake object ls --json`, `upload --json`, `wait --json` and the rest print objects through
/// `EntityJSON`, which lays stored provisions into the encoder's output: the bytes must be the
/// encoder's, whatever surrounds the objects and whatever their names, tags and params hold.
@Suite struct EntityJSONTests {
    /// An upload's report: other entries beside the objects, at the objects' depth, with names and
    /// texts that look like what the splice looks for.
    struct Report: Encodable {
        struct Failure: Encodable { var path: String; var reason: String }
        var failed: [Failure]
        var succeeded: [LakeObject]
    }

    /// Something else at the objects' depth with an empty "provisions" member: not an object, so
    /// the members found are one more than the objects and the encoder's output is kept.
    struct Impostor: Encodable {
        var first: [[String: [Int]]]
        var objects: [LakeObject]
    }

    static var objects: [LakeObject] {
        let awkward: [String: JSONValue] = [
            "provisions": .array([]), "x\n    \"provisions\" : [": .string("]\n\n      ]"),
            "nested": .object(["provisions": .array([]), "a": .array([.array([]), .object([:])])]),
        ]
        var unprocessed = StoredObjectTests.processed()
        unprocessed.provisions = []
        unprocessed.status = .uploaded
        var params = StoredObjectTests.processed(label: "q")
        params.params = ["provisions": Param(value: .vector([1, 2]))]
        return [StoredObjectTests.processed(), StoredObjectTests.processed(label: "a,b:c[d]{e}\"f\\", tags: awkward),
                unprocessed, params]
    }

    func same(_ made: String, _ expected: String) -> Bool { made == expected }

    /// Stored objects (`lake object ls --json`) lay their stored text out: the encoder's bytes.
    /// A stored text that is damaged is an error naming the object, never an object printed
    /// without its provisions, whether the layout or the whole encoder meets it.
    @Test func storedObjectsAreTheEncodersBytesOrAnError() throws {
        let objects = Self.objects
        let stored = objects.map(StoredObject.init)
        #expect(same(try EntityJSON.pretty(stored, depth: 2) { StoredListing(objects: $0) },
                     LakeJSON.string(ObjectListing(objects: objects), pretty: true)))
        // Texts that cannot be laid out (a row cut short, brackets that do not close).
        for damaged in [#"[{"kind":"fie"#, "[", #"[{"kind":"field","label":"p"]"#] {
            var broken = stored
            broken[1].provisionsJSON = damaged
            #expect(throws: UnreadableProvisions.self, "\(damaged)") { try EntityJSON.bytes(broken, depth: 2) { StoredListing(objects: $0) } }
            // The impostor makes the whole value go through the encoder: the same error.
            #expect(throws: UnreadableProvisions.self, "\(damaged)") {
                try EntityJSON.bytes(broken, depth: 2) { ImpostorOfStored(first: [["provisions": []]], objects: $0) }
            }
        }
    }

    struct StoredListing: Encodable { var objects: [StoredObject] }
    struct ObjectListing: Encodable { var objects: [LakeObject] }

    struct ImpostorOfStored: Encodable {
        var first: [[String: [Int]]]
        var objects: [StoredObject]
    }

    @Test func pagesArraysReportsAndSingleObjectsAreWhatTheEncoderWrites() throws {
        let objects = Self.objects
        for count in 0...objects.count {
            let some = Array(objects.prefix(count))
            let page = try EntityJSON.pretty(some, depth: 2) { Listing(objects: $0, nextCursor: count == 2 ? "obj-x" : nil) }
            #expect(same(page, LakeJSON.string(Listing(objects: some, nextCursor: count == 2 ? "obj-x" : nil), pretty: true)), "page of \(count)")
            #expect(same(try EntityJSON.pretty(some, depth: 1) { $0 }, LakeJSON.string(some, pretty: true)), "array of \(count)")
            let failures = [Report.Failure(path: "\n      \"provisions\" : [", reason: "provisions")]
            #expect(same(try EntityJSON.pretty(some, depth: 2) { Report(failed: failures, succeeded: $0) },
                         LakeJSON.string(Report(failed: failures, succeeded: some), pretty: true)), "report of \(count)")
        }
        for object in objects {
            #expect(same(try EntityJSON.pretty([object], depth: 0) { $0[0] }, LakeJSON.string(object, pretty: true)), "\(object.name)")
        }
    }

    @Test func theStoredProvisionsAreSplicedNotEncodedAgain() throws {
        // The splice itself, not its fallback: given the objects emptied and their texts, it lays
        // them out; the result decodes to the whole objects.
        let objects = Self.objects
        let stored = objects.map(StoredObject.init)
        let bytes = try #require(EntityJSON.splice(Listing(objects: stored.map(\.object)), provisions: stored.map(\.provisionsJSON), depth: 2))
        #expect(same(String(decoding: bytes, as: UTF8.self), LakeJSON.string(Listing(objects: objects), pretty: true)))
        struct Decoded: Decodable { var objects: [LakeObject] }
        #expect(try LakeJSON.decoder().decode(Decoded.self, from: Data(bytes)).objects == objects)
    }

    @Test func anythingElseThatLooksLikeAnObjectsProvisionsFallsBackToTheEncoder() throws {
        let objects = Self.objects
        let stored = objects.map(StoredObject.init)
        let impostor = Impostor(first: [["provisions": []]], objects: stored.map(\.object))
        #expect(EntityJSON.splice(impostor, provisions: stored.map(\.provisionsJSON), depth: 2) == nil)
        let printed = try EntityJSON.pretty(objects, depth: 2) { Impostor(first: [["provisions": []]], objects: $0) }
        #expect(same(printed, LakeJSON.string(Impostor(first: [["provisions": []]], objects: objects), pretty: true)))
        // Too few or too many texts, or a damaged one: nothing laid out.
        #expect(EntityJSON.splice(Listing(objects: stored.map(\.object)), provisions: stored.dropLast().map(\.provisionsJSON), depth: 2) == nil)
        #expect(EntityJSON.splice(Listing(objects: stored.map(\.object)), provisions: stored.map(\.provisionsJSON) + ["[]"], depth: 2) == nil)
        #expect(EntityJSON.splice(Listing(objects: stored.map(\.object)), provisions: stored.map { _ in "[{]" }, depth: 2) == nil)
        // The wrong depth finds nothing.
        #expect(EntityJSON.splice(Listing(objects: stored.map(\.object)), provisions: stored.map(\.provisionsJSON), depth: 1) == nil)
    }
}

extension EntityJSONTests {
    @Test func theTextHandedOverInPiecesIsTheWholeText() throws {
        let objects = Self.objects + Self.objects
        let whole = LakeJSON.string(Listing(objects: objects), pretty: true)
        for piece in [1, 100, 5000, 1 << 20] {
            var pieces: [[UInt8]] = []
            try EntityJSON.write(objects, depth: 2, piece: piece, { Listing(objects: $0) }) { pieces.append(Array($0)) }
            #expect(same(String(decoding: pieces.joined(), as: UTF8.self), whole), "pieces of \(piece)")
            #expect(pieces.count == (piece == 1 ? objects.count + 1 : piece == 1 << 20 ? 1 : pieces.count), "\(piece): \(pieces.count)")
            #expect(pieces.dropLast().allSatisfy { $0.count >= piece }, "only the last piece is short")
        }
    }
}

extension EntityJSONTests {
    @Test func casesAndDatasetsAreWhatTheEncoderWrites() throws {
        let provisions = StoredObjectTests.processed().provisions
        let item = LakeCase(id: LakeID.make(.case, at: 3), name: "c \"provisions\" : [", status: .ready,
                            members: [CaseMember(objectId: LakeID.make(.object, at: 1), label: "m")], params: [:],
                            provisions: provisions, tags: ["provisions": .array([])], createdAt: Timestamp(microseconds: 5), createdBy: "root")
        let unsettled = LakeCase(id: LakeID.make(.case, at: 4), name: "u", status: .unsettled, members: [], params: [:],
                                 createdAt: Timestamp(microseconds: 6), createdBy: "root")
        let dataset = LakeDataset(id: LakeID.make(.dataset, at: 7), name: "d", description: "x", status: .ready,
                                  caseIds: [item.id], provisions: provisions, createdAt: Timestamp(microseconds: 8), createdBy: "root")
        #expect(same(try EntityJSON.pretty([item], depth: 0) { $0[0] }, LakeJSON.string(item, pretty: true)))
        #expect(same(try EntityJSON.pretty([dataset], depth: 0) { $0[0] }, LakeJSON.string(dataset, pretty: true)))
        #expect(same(try EntityJSON.pretty([item, unsettled, item], depth: 2) { ["cases": $0] },
                     LakeJSON.string(["cases": [item, unsettled, item]], pretty: true)))
        #expect(same(try EntityJSON.pretty([dataset, dataset], depth: 1) { $0 }, LakeJSON.string([dataset, dataset], pretty: true)))
    }
}
