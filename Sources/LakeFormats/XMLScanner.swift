import LakeSystem

/// A strict pull scanner for the XML that VTK writes. Text content is reported as a byte range
/// of the file, never copied, so inline data of any size costs nothing here. Refuses DOCTYPE
/// and entity declarations (nothing is ever resolved), CDATA, mismatched tags and trailing junk.
struct XMLScanner {
    enum Event: Equatable {
        case start(name: String, attributes: [String: String], selfClosing: Bool)
        case end(name: String)
        /// Non-whitespace text between tags: [start, end) of the file.
        case text(start: Int64, end: Int64)
    }

    private(set) var cursor: ByteCursor
    private(set) var open: [String] = []
    private var sawRoot = false
    static let maxNameLength = 256
    static let maxAttributeBytes = 1 << 16
    static let maxDepth = 64

    init(file: ReadableFile) {
        cursor = ByteCursor(file: file)
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }
    static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57)
            || byte == 95 || byte == 45 || byte == 46 || byte == 58
    }

    func error(_ message: String) -> FormatError {
        FormatError("XML error at byte \(cursor.offset): \(message)")
    }

    mutating func skipSpace() throws {
        while let byte = try cursor.peek(), Self.isSpace(byte) { try cursor.skip(1) }
    }

    /// The prolog: optional BOM, `<?xml …?>`, comments. Anything that is not XML fails here.
    mutating func readProlog() throws {
        if try cursor.startsWith("\u{FEFF}") { try cursor.skip(3) }
        try skipSpace()
        guard try cursor.peek() == UInt8(ascii: "<") else {
            throw FormatError("not an XML file: it does not start with '<' (a VTK XML file starts with <?xml or <VTKFile)")
        }
    }

    mutating func next() throws -> Event? {
        while true {
            let textStart = cursor.offset
            var sawText = false
            while let byte = try cursor.peek(), byte != UInt8(ascii: "<") {
                if !Self.isSpace(byte) { sawText = true; break }
                try cursor.skip(1)
            }
            if sawText {
                guard !open.isEmpty else { throw error("text outside the root element") }
                _ = try cursor.advance(to: UInt8(ascii: "<"))
                guard !cursor.atEnd else { throw error("the file ends inside <\(open.last!)> (truncated?)") }
                return .text(start: textStart, end: cursor.offset)
            }
            guard try cursor.peek() != nil else {
                if let unclosed = open.last { throw error("the file ends before </\(unclosed)> (truncated?)") }
                guard sawRoot else { throw error("no root element") }
                return nil
            }
            // At '<'.
            if try cursor.startsWith("<?") {
                guard try cursor.advance(past: "?>") else { throw error("unterminated processing instruction") }
                continue
            }
            if try cursor.startsWith("<!--") {
                guard try cursor.advance(past: "-->") else { throw error("unterminated comment") }
                continue
            }
            if try cursor.startsWith("<!DOCTYPE") || cursor.startsWith("<!ENTITY") || cursor.startsWith("<!doctype") {
                throw FormatError("the file declares a DOCTYPE or entities, which Lake refuses (nothing in it was resolved)")
            }
            if try cursor.startsWith("<![CDATA[") { throw error("CDATA sections are not part of VTK XML") }
            if try cursor.startsWith("<!") { throw error("unexpected markup declaration") }
            try cursor.skip(1)
            if try cursor.peek() == UInt8(ascii: "/") {
                try cursor.skip(1)
                let name = try readName()
                try skipSpace()
                guard try cursor.next() == UInt8(ascii: ">") else { throw error("malformed end tag </\(name)") }
                guard let expected = open.popLast() else { throw error("</\(name)> without an open element") }
                guard expected == name else { throw error("</\(name)> closes <\(expected)>") }
                return .end(name: name)
            }
            if sawRoot && open.isEmpty { throw error("content after the root element") }
            let name = try readName()
            let (attributes, selfClosing) = try readAttributes(of: name)
            sawRoot = true
            if !selfClosing {
                guard open.count < Self.maxDepth else { throw error("elements nested deeper than \(Self.maxDepth)") }
                open.append(name)
            }
            return .start(name: name, attributes: attributes, selfClosing: selfClosing)
        }
    }

    private mutating func readName() throws -> String {
        var bytes: [UInt8] = []
        while let byte = try cursor.peek(), Self.isNameByte(byte) {
            bytes.append(byte)
            try cursor.skip(1)
            guard bytes.count <= Self.maxNameLength else { throw error("a name longer than \(Self.maxNameLength) bytes") }
        }
        guard let first = bytes.first, !(first >= 48 && first <= 57), first != 45, first != 46 else {
            throw error("expected an element or attribute name")
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func readAttributes(of element: String) throws -> ([String: String], Bool) {
        var attributes: [String: String] = [:]
        var total = 0
        while true {
            try skipSpace()
            guard let byte = try cursor.peek() else { throw error("the file ends inside <\(element)> (truncated?)") }
            if byte == UInt8(ascii: ">") {
                try cursor.skip(1)
                return (attributes, false)
            }
            if byte == UInt8(ascii: "/") {
                try cursor.skip(1)
                guard try cursor.next() == UInt8(ascii: ">") else { throw error("malformed tag <\(element)") }
                return (attributes, true)
            }
            let name = try readName()
            try skipSpace()
            guard try cursor.next() == UInt8(ascii: "=") else { throw error("attribute \(name) of <\(element)> has no value") }
            try skipSpace()
            guard let quote = try cursor.next(), quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else {
                throw error("attribute \(name) of <\(element)> is not quoted")
            }
            var raw: [UInt8] = []
            while true {
                guard let c = try cursor.next() else { throw error("the file ends inside an attribute value (truncated?)") }
                if c == quote { break }
                if c == UInt8(ascii: "<") { throw error("'<' inside attribute \(name) of <\(element)>") }
                raw.append(c)
                total += 1
                guard total <= Self.maxAttributeBytes else { throw error("attributes of <\(element)> are larger than 64 KiB") }
            }
            guard attributes[name] == nil else { throw error("attribute \(name) appears twice in <\(element)>") }
            attributes[name] = try decodeEntities(raw)
        }
    }

    /// Replaces the five predefined entities and character references; anything else is refused.
    private func decodeEntities(_ raw: [UInt8]) throws -> String {
        guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
        var out: [UInt8] = []
        var i = 0
        while i < raw.count {
            guard raw[i] == UInt8(ascii: "&") else { out.append(raw[i]); i += 1; continue }
            guard let semicolon = raw[i...].firstIndex(of: UInt8(ascii: ";")), semicolon - i <= 12 else {
                throw error("a bare '&' in an attribute value")
            }
            let entity = String(decoding: raw[(i + 1)..<semicolon], as: UTF8.self)
            switch entity {
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "amp": out.append(UInt8(ascii: "&"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                let scalar: UInt32?
                if entity.hasPrefix("#x") { scalar = UInt32(entity.dropFirst(2), radix: 16) }
                else if entity.hasPrefix("#") { scalar = UInt32(entity.dropFirst(1)) }
                else { throw error("the entity &\(entity); is not defined (Lake resolves no custom entities)") }
                guard let scalar, let unicode = Unicode.Scalar(scalar) else { throw error("invalid character reference &\(entity);") }
                out += Array(String(Character(unicode)).utf8)
            }
            i = semicolon + 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// After `<AppendedData …>`: skips to the `_` marker and returns the offset just after it.
    mutating func appendedDataStart() throws -> Int64 {
        try skipSpace()
        guard try cursor.next() == UInt8(ascii: "_") else {
            throw error("<AppendedData> does not start with the '_' marker")
        }
        return cursor.offset
    }
}
