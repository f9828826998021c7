import LakeSystem

/// What a VTK XML file declares, read by the strict scanner without touching the array data.
struct VTKDocument: Sendable {
    enum HeaderType: Sendable { case uint32, uint64
        var size: Int { self == .uint32 ? 4 : 8 }
    }
    enum ArrayFormat: String, Sendable { case ascii, binary, appended }

    /// What an array's values are: numbers (fields, geometry, topology), strings (NUL-terminated,
    /// one per value) or packed bits. Only numbers can be fields.
    enum Values: Sendable { case numbers, strings, bits }

    struct DataArray: Sendable {
        var name: String
        var type: VTKScalarType
        var components: Int
        var values: Values = .numbers
        /// The `NumberOfTuples` attribute, where the writer gave one (FieldData always has it).
        var declaredTuples: Int64?
        /// The element holding the array: PointData, CellData, FieldData, Points, Cells, Polys, …
        var section: String = ""
        var componentNames: [String?]
        var format: ArrayFormat
        /// For appended arrays: the offset attribute, relative to the appended data start.
        var appendedOffset: Int64?
        /// For inline arrays: the file range holding the text.
        var text: Range<Int64>?
    }

    struct Piece: Sendable {
        var points: Int64
        var cells: Int64
        /// Cells per topology section: `Cells` (VTU) or `Verts`, `Lines`, `Strips`, `Polys` (VTP).
        var sectionCells: [String: Int64] = [:]
        var pointData: [DataArray] = []
        var cellData: [DataArray] = []
        /// Geometry and topology arrays (Points, Cells, Polys, …): checked, not fields.
        var structural: [DataArray] = []
    }

    var type: String
    var bigEndian: Bool
    var headerType: HeaderType
    var compressor: Compressor?
    var pieces: [Piece] = []
    /// FieldData arrays (of the dataset or of a piece): metadata such as TimeValue, not fields.
    var fieldData: [DataArray] = []
    var appendedEncoding: String?
    var appendedStart: Int64?
    /// Where `</AppendedData>` begins: no appended array may run into it.
    var appendedEnd: Int64?
    /// A VTM's dataset references, in document order.
    var references: [String] = []
}

extension VTKDocument {
    static let datasetTypes = ["PolyData", "UnstructuredGrid"]

    /// Reads the XML structure of a VTK file. Array data is located, not decoded.
    static func read(_ file: ReadableFile, budget: ProcessingBudget) throws -> VTKDocument {
        var scanner = XMLScanner(file: file)
        try scanner.readProlog()
        guard case .start(let rootName, let root, _)? = try scanner.next() else {
            throw FormatError("not a VTK XML file: no root element")
        }
        guard rootName == "VTKFile" else {
            throw FormatError("not a VTK XML file: the root element is <\(rootName)>, not <VTKFile>")
        }
        guard let type = root["type"] else { throw FormatError("<VTKFile> has no type attribute") }
        if let version = root["version"], !["0.1", "1.0"].contains(version) && !version.hasPrefix("2.") {
            throw FormatError("unsupported VTK XML version \(version) (Lake reads 0.1, 1.0 and 2.x)")
        }
        let bigEndian: Bool
        switch root["byte_order"] ?? "LittleEndian" {
        case "LittleEndian": bigEndian = false
        case "BigEndian": bigEndian = true
        case let other: throw FormatError("unknown byte_order '\(other)' (expected LittleEndian or BigEndian)")
        }
        let headerType: HeaderType
        switch root["header_type"] ?? "UInt32" {
        case "UInt32": headerType = .uint32
        case "UInt64": headerType = .uint64
        case let other: throw FormatError("unknown header_type '\(other)' (expected UInt32 or UInt64)")
        }
        var compressor: Compressor?
        if let name = root["compressor"], !name.isEmpty {
            guard let known = Compressor(rawValue: name) else {
                throw FormatError("unsupported compressor '\(name)' (Lake decodes vtkZLibDataCompressor, vtkLZ4DataCompressor, vtkLZMADataCompressor)")
            }
            compressor = known
        }
        var document = VTKDocument(type: type, bigEndian: bigEndian, headerType: headerType, compressor: compressor)
        var builder = Builder()
        var elements = 0
        while let event = try scanner.next() {
            try budget.check()
            switch event {
            case .start(let name, let attributes, let selfClosing):
                if name == "AppendedData" {
                    guard !selfClosing else { throw FormatError("<AppendedData/> is empty") }
                    let encoding = attributes["encoding"] ?? "raw"
                    guard encoding == "raw" || encoding == "base64" else {
                        throw FormatError("unknown AppendedData encoding '\(encoding)' (expected raw or base64)")
                    }
                    document.appendedEncoding = encoding
                    document.appendedStart = try scanner.appendedDataStart()
                    document.appendedEnd = try appendedEnd(file, after: document.appendedStart!)
                    document.pieces = builder.pieces
                    document.fieldData = builder.fieldData
                    document.references = builder.references
                    return document
                }
                switch name {
                case "DataArray", "Array", "Piece", "DataSet":
                    // Each is held until the file is processed (a few hundred bytes): a file of
                    // a million FieldData arrays or empty pieces would otherwise cost gigabytes.
                    elements += 1
                    if elements > FieldLimits.elements { throw FieldLimits.tooManyElements() }
                default: break
                }
                try builder.start(name, attributes, path: scanner.open, selfClosing: selfClosing, document: document)
            case .end(let name):
                try builder.end(name)
            case .text(let start, let end):
                try builder.text(start..<end, path: scanner.open)
            }
        }
        document.pieces = builder.pieces
        document.fieldData = builder.fieldData
        document.references = builder.references
        return document
    }

    /// Raw appended data is not XML; the file must still end with the closing tags, or it was
    /// truncated. Returns where `</AppendedData>` starts.
    static func appendedEnd(_ file: ReadableFile, after start: Int64) throws -> Int64 {
        let tailLength = Int(min(256, file.size - start))
        let tail = try file.bytes(at: file.size - Int64(tailLength), count: tailLength)
        let closing = Array("</AppendedData>".utf8)
        let found = stride(from: tail.count - closing.count, through: 0, by: -1).first { at in
            tail[at..<(at + closing.count)].elementsEqual(closing)
        }
        guard let found, String(decoding: tail[found...], as: UTF8.self).contains("</VTKFile>") else {
            throw FormatError("the file ends without </AppendedData></VTKFile>: it is truncated")
        }
        return file.size - Int64(tailLength) + Int64(found)
    }

    /// Builds pieces and arrays from scanner events.
    struct Builder {
        var pieces: [Piece] = []
        var fieldData: [DataArray] = []
        /// Statistics series the current piece's fields need (every piece has the same fields).
        var pieceSeries = 0
        var references: [String] = []
        var current: DataArray?

        mutating func start(_ name: String, _ a: [String: String], path: [String], selfClosing: Bool, document: VTKDocument) throws {
            let parent = path.dropLast(selfClosing ? 0 : 1).last
            switch name {
            case "Piece" where parent.map(VTKDocument.datasetTypes.contains) == true:
                func count(_ key: String) throws -> Int64 {
                    guard let text = a[key] else { return 0 }
                    guard let value = Int64(text), value >= 0 else { throw FormatError("<Piece> \(key)='\(text)' is not a count") }
                    return value
                }
                var cells: Int64 = 0
                for key in ["NumberOfCells", "NumberOfVerts", "NumberOfLines", "NumberOfStrips", "NumberOfPolys"] {
                    let (sum, overflow) = cells.addingReportingOverflow(try count(key))
                    guard !overflow else { throw FormatError("<Piece> declares more cells than any file can hold") }
                    cells = sum
                }
                var piece = Piece(points: try count("NumberOfPoints"), cells: cells)
                for key in ["Cells", "Verts", "Lines", "Strips", "Polys"] {
                    piece.sectionCells[key] = try count("NumberOf" + key)
                }
                pieces.append(piece)
                pieceSeries = 0
            case "DataSet":
                if let file = a["file"], !file.isEmpty { references.append(file) }
            case "DataArray", "Array":
                // VTK writes string arrays as <Array type="String">; both kinds are checked.
                var array = try dataArray(a, document: document)
                array.section = parent ?? ""
                if selfClosing { try finish(array) } else { current = array }
            default:
                break
            }
        }

        mutating func end(_ name: String) throws {
            if name == "DataArray" || name == "Array", let array = current {
                current = nil
                try finish(array)
            }
        }

        mutating func text(_ range: Range<Int64>, path: [String]) throws {
            guard path.last == "DataArray" || path.last == "Array", current != nil else { return }
            guard current!.text == nil else { throw FormatError("DataArray '\(current!.name)' has its data split by markup") }
            current!.text = range
        }

        mutating func finish(_ array: DataArray) throws {
            if array.section == "FieldData" {
                fieldData.append(array)
                return
            }
            guard !pieces.isEmpty else { return }   // no other arrays live outside pieces in VTP/VTU
            if array.section == "PointData" || array.section == "CellData", array.values == .numbers {
                // Refused while reading, not after: a hostile file of a million one-value
                // arrays would otherwise be parsed (and its statistics computed) in full.
                pieceSeries += FieldLimits.series(components: array.components)
                if pieceSeries > FieldLimits.series { throw FieldLimits.exceeded(series: nil) }
            }
            switch array.section {
            case "PointData": pieces[pieces.count - 1].pointData.append(array)
            case "CellData": pieces[pieces.count - 1].cellData.append(array)
            default: pieces[pieces.count - 1].structural.append(array)
            }
        }

        func dataArray(_ a: [String: String], document: VTKDocument) throws -> DataArray {
            let name = a["Name"] ?? ""
            guard let typeName = a["type"] else { throw FormatError("DataArray '\(name)' has no type") }
            let components = Int(a["NumberOfComponents"] ?? "1") ?? -1
            guard components >= 1 && components <= 4096 else {
                throw FormatError("DataArray '\(name)' has NumberOfComponents='\(a["NumberOfComponents"] ?? "")'; "
                    + "Lake reads arrays of 1 to 4096 components")
            }
            guard let format = ArrayFormat(rawValue: a["format"] ?? "ascii") else {
                throw FormatError("DataArray '\(name)' has an unknown format '\(a["format"] ?? "")' (expected ascii, binary or appended)")
            }
            var offset: Int64?
            if format == .appended {
                guard let text = a["offset"], let value = Int64(text), value >= 0 else {
                    throw FormatError("appended DataArray '\(name)' has no valid offset")
                }
                offset = value
            }
            var declared: Int64?
            if let text = a["NumberOfTuples"] {
                guard let value = Int64(text), value >= 0 else {
                    throw FormatError("DataArray '\(name)' has NumberOfTuples='\(text)', which is not a count")
                }
                declared = value
            }
            let names = (0..<components).map { a["ComponentName\($0)"] }
            guard let type = VTKScalarType(attribute: typeName) else {
                if typeName == "String" || typeName == "Bit" {
                    // Not numbers: never a field, but its bytes are still checked (as bytes).
                    return DataArray(name: name, type: .uint8, components: components, values: typeName == "String" ? .strings : .bits,
                                     declaredTuples: declared, componentNames: [], format: format, appendedOffset: offset, text: nil)
                }
                throw FormatError("DataArray '\(name)' has an unknown type '\(typeName)'")
            }
            return DataArray(name: name, type: type, components: components, declaredTuples: declared, componentNames: names,
                             format: format, appendedOffset: offset, text: nil)
        }
    }
}
