import Foundation

/// What has provisions: objects, and cases and datasets (their members' pooled).
public protocol HoldsProvisions {
    var provisions: [Provision] { get set }
    /// The provisions as compact JSON (`ProvisionJSON`'s): written from `provisions`, or the
    /// text they were stored as (`StoredObject`).
    var provisionsText: String { get }
    /// The provisions, or why the text they were stored as cannot be read (a damaged catalog row).
    func readProvisions() throws -> [Provision]
}

extension HoldsProvisions {
    public var provisionsText: String { ProvisionJSON.compactArray(provisions) }
    public func readProvisions() throws -> [Provision] { provisions }
}

extension LakeObject: HoldsProvisions {}
extension LakeCase: HoldsProvisions {}
extension LakeDataset: HoldsProvisions {}

/// Pretty JSON of values that hold objects, cases or datasets — one of them, a page of `lake
/// object ls`, an upload's report, a case's `case.json` — with every entity's provisions laid out
/// from compact text (`ProvisionJSON`'s writer, `PrettyJSON`'s layout) rather than through
/// Foundation's encoder, which spends about 190 µs on each field's histograms: a page of 100
/// objects of ten fields took a fifth of a second, one object of 20,000 fields four, and sizing
/// each `case.json` of a mounted lake 10 ms a case of 50 fields. The bytes are
/// `LakeJSON.data(value, pretty: true)`'s.
public enum EntityJSON {
    /// Hands the JSON of the value `make` builds from `entities` to `sink` in pieces of about a
    /// MiB, so a page of hundreds of MB of histograms is never held whole. `make` must encode each
    /// entity once, in the order given, as members of containers nested `depth` deep (0 for the
    /// value itself, 1 for the elements of a top-level array, 2 for the elements of an array that
    /// is a member of it); when its output has not exactly one entity's `provisions` there for
    /// each entity, the value is encoded whole by Foundation's encoder instead. Throws, before
    /// that entity's text is handed over, when an entity's stored provisions can be neither laid
    /// out nor read: a damaged catalog row is an error, never an object printed without them.
    public static func write<E: HoldsProvisions, T: Encodable>(_ entities: [E], depth: Int, piece: Int = 1 << 20, _ make: ([E]) -> T,
                                                               to sink: (UnsafeBufferPointer<UInt8>) -> Void) throws {
        let emptied = entities.map { entity in
            var copy = entity
            copy.provisions = []
            return copy
        }
        let skeleton = LakeJSON.data(make(emptied), pretty: true)
        let written: Bool = try skeleton.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            let slots = Slots(depth: depth)
            guard let places = slots.places(in: bytes, count: entities.count) else { return false }
            // Grown as needed: one small case.json should not cost a MiB's allocation.
            var buffer: [UInt8] = []
            var copied = 0
            for (place, entity) in zip(places, entities) {
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied..<place]))
                let mark = buffer.count
                if !PrettyJSON.append(entity.provisionsText, depth: depth + 1, to: &buffer) {
                    // Not expected of the writer's own text; Foundation's compact text lays out alike.
                    buffer.removeSubrange(mark...)
                    _ = PrettyJSON.append(LakeJSON.compactString(try entity.readProvisions()), depth: depth + 1, to: &buffer)
                }
                copied = place + slots.emptyArray.count
                if buffer.count >= piece {
                    buffer.withUnsafeBufferPointer(sink)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied...]))
            buffer.withUnsafeBufferPointer(sink)
            return true
        }
        if !written {
            // The encoder reads each entity's provisions: any that cannot be read are an error first.
            for entity in entities { _ = try entity.readProvisions() }
            LakeJSON.data(make(entities), pretty: true).withUnsafeBytes { sink($0.bindMemory(to: UInt8.self)) }
        }
    }

    /// The whole text `write` hands over.
    public static func bytes<E: HoldsProvisions, T: Encodable>(_ entities: [E], depth: Int, _ make: ([E]) -> T) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try write(entities, depth: depth, make) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The same as a string.
    public static func pretty<E: HoldsProvisions, T: Encodable>(_ entities: [E], depth: Int, _ make: ([E]) -> T) throws -> String {
        String(decoding: try bytes(entities, depth: depth, make), as: UTF8.self)
    }

    /// `value` encoded pretty with the entities' provisions empty, each `"provisions"` member of
    /// theirs then replaced, in order, by the stored text laid out at that depth (the mount's
    /// `object.json`). Nil when the members found are not one per text or a text cannot be laid out.
    static func splice<T: Encodable>(_ value: T, provisions: [String], depth: Int) -> [UInt8]? {
        let encoded = LakeJSON.data(value, pretty: true)
        return encoded.withUnsafeBytes { raw -> [UInt8]? in
            let bytes = raw.bindMemory(to: UInt8.self)
            let slots = Slots(depth: depth)
            guard let places = slots.places(in: bytes, count: provisions.count) else { return nil }
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count + provisions.reduce(0) { $0 + 3 * $1.utf8.count })
            var copied = 0
            for (place, text) in zip(places, provisions) {
                guard text.utf8.first == UInt8(ascii: "[") else { return nil }
                output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied..<place]))
                guard PrettyJSON.append(text, depth: depth + 1, to: &output) else { return nil }
                copied = place + slots.emptyArray.count
            }
            output.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[copied...]))
            return output
        }
    }

    /// Where the encoder put the entities' empty provisions.
    struct Slots {
        let marker: [UInt8]
        let emptyArray: [UInt8]

        init(depth: Int) {
            // A member of an entity nested `depth` deep starts a line indented by 2 × (depth + 1);
            // a newline never occurs inside a JSON string, and a deeper member (a param or tag of
            // that name) is indented further, so only the entities' own members look like this.
            let indent = [UInt8](repeating: UInt8(ascii: " "), count: 2 * (depth + 1))
            marker = [UInt8(ascii: "\n")] + indent + Array("\"provisions\" : ".utf8)
            emptyArray = Array("[\n\n".utf8) + indent + [UInt8(ascii: "]")]
        }

        /// Where each empty array starts: exactly `count` of them, or nil.
        func places(in bytes: UnsafeBufferPointer<UInt8>, count: Int) -> [Int]? {
            var found: [Int] = []
            var i = 0
            while i + marker.count <= bytes.count {
                if bytes[i] == marker[0] && bytes[i..<(i + marker.count)].elementsEqual(marker) {
                    let value = i + marker.count
                    guard found.count < count, bytes[value...].starts(with: emptyArray) else { return nil }
                    found.append(value)
                    i = value + emptyArray.count
                } else {
                    i += 1
                }
            }
            return found.count == count ? found : nil
        }
    }
}
