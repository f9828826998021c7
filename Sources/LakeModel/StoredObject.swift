import Foundation

/// An object as the catalog holds it, its provisions still the compact JSON text they were
/// stored as. A processed file's provisions (every field's statistics and 128-bin histograms)
/// are most of its `object.json`; decoding them only to encode them again cost about a
/// millisecond per object, which every `find -size`, `ls -l` or `du` over the mount paid.
public struct StoredObject: Sendable {
    /// The object without its provisions (`provisions` is empty).
    public var object: LakeObject
    /// Its provisions as compact JSON: an array, written by `LakeJSON`'s compact encoder.
    public var provisionsJSON: String

    public init(object: LakeObject, provisionsJSON: String) {
        self.object = object
        self.object.provisions = []
        self.provisionsJSON = provisionsJSON
    }

    /// From a whole object (for catalogs that hold objects decoded).
    public init(_ object: LakeObject) {
        self.init(object: object, provisionsJSON: ProvisionJSON.compactArray(object.provisions))
    }

    /// The object's pretty JSON and a final newline, byte for byte what
    /// `LakeJSON.string(object, pretty: true) + "\n"` gives for the decoded object: the rest of the
    /// object is encoded as usual and the stored provisions are laid out into it (`EntityJSON`).
    /// Nil when the stored text cannot be laid out (a damaged catalog row).
    public var prettyJSON: [UInt8]? {
        guard var bytes = EntityJSON.splice(object, provisions: [provisionsJSON], depth: 0) else { return nil }
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}

/// A page of stored objects printed as JSON (`lake object ls --json`): `EntityJSON` lays each
/// stored text out where the object's empty provisions are encoded. The provisions are decoded
/// only where the text cannot be laid out (`readProvisions`, which then says why), and set
/// provisions replace the stored text.
extension StoredObject: HoldsProvisions, Encodable {
    public var provisions: [Provision] {
        get { (try? readProvisions()) ?? [] }
        set {
            object.provisions = []
            provisionsJSON = ProvisionJSON.compactArray(newValue)
        }
    }

    public var provisionsText: String { provisionsJSON }

    public func readProvisions() throws -> [Provision] {
        if let fields = ProvisionJSON.fields(from: provisionsJSON) { return fields }
        do { return try LakeJSON.decode([Provision].self, from: provisionsJSON) } catch {
            throw UnreadableProvisions(object: object.id, reason: "\(error)")
        }
    }

    /// Only through `EntityJSON`, which reads the provisions first.
    public func encode(to encoder: any Encoder) throws {
        var whole = object
        whole.provisions = try readProvisions()
        try whole.encode(to: encoder)
    }
}

/// The text a stored object's provisions were stored as is not JSON they can be read from.
public struct UnreadableProvisions: Error, CustomStringConvertible {
    public let object: LakeID
    public let reason: String
    public var description: String { "the catalog's record of object \(object)'s provisions is damaged (unreadable JSON: \(reason))" }
}
