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
/// only where the whole object is asked of the encoder (`EntityJSON`'s fallback), and set
/// provisions replace the stored text.
extension StoredObject: HoldsProvisions, Encodable {
    public var provisions: [Provision] {
        get {
            ProvisionJSON.fields(from: provisionsJSON)
                ?? (try? LakeJSON.decoder().decode([Provision].self, from: Data(provisionsJSON.utf8))) ?? []
        }
        set {
            object.provisions = []
            provisionsJSON = ProvisionJSON.compactArray(newValue)
        }
    }

    public var provisionsText: String { provisionsJSON }

    public func encode(to encoder: any Encoder) throws {
        var whole = object
        whole.provisions = provisions
        try whole.encode(to: encoder)
    }
}
