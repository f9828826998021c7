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
    /// object is encoded as usual and the stored provisions are laid out into it (`PrettyJSON`).
    /// Nil when the stored text cannot be laid out (a damaged catalog row).
    public var prettyJSON: [UInt8]? {
        let rest = LakeJSON.data(object, pretty: true)
        // The one member of the top-level object indented by two spaces and named "provisions"
        // (a newline never occurs inside a JSON string, so nothing nested can look like it).
        let marker = Array("\n  \"provisions\" : ".utf8)
        let emptyArray = Array("[\n\n  ]".utf8)
        return rest.withUnsafeBytes { raw -> [UInt8]? in
            let bytes = raw.bindMemory(to: UInt8.self)
            guard let at = Self.firstIndex(of: marker, in: bytes),
                  bytes[(at + marker.count)...].starts(with: emptyArray),
                  provisionsJSON.utf8.first == UInt8(ascii: "[") else { return nil }
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count + provisionsJSON.utf8.count * 2)
            output.append(contentsOf: bytes[..<(at + marker.count)])
            guard PrettyJSON.append(provisionsJSON, depth: 1, to: &output) else { return nil }
            output.append(contentsOf: bytes[(at + marker.count + emptyArray.count)...])
            output.append(UInt8(ascii: "\n"))
            return output
        }
    }

    private static func firstIndex(of pattern: [UInt8], in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= pattern.count else { return nil }
        var i = 0
        while i <= bytes.count - pattern.count {
            if bytes[i] == pattern[0] && bytes[i..<(i + pattern.count)].elementsEqual(pattern) { return i }
            i += 1
        }
        return nil
    }
}
