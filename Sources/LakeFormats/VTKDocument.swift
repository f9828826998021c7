import LakeSystem

/// What a VTK XML file declares, read by the strict scanner without touching the array data.
struct VTKDocument: Sendable {
    enum HeaderType: Sendable { case uint32, uint64
        var size: Int { self == .uint32 ? 4 : 8 }
    }
    enum ArrayFormat: String, Sendable { case ascii, binary, appended }

    struct DataArray: Sendable {
        var name: String
        var type: VTKScalarType
        var components: Int
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
    var appendedEncoding: String?
    var appendedStart: Int64?
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
                    try checkTail(file, after: document.appendedStart!)
                    document.pieces = builder.pieces
                    document.references = builder.references
                    return document
                }
                try builder.start(name, attributes, path: scanner.open, selfClosing: selfClosing, document: document)
            case .end(let name):
                try builder.end(name)
            case .text(let start, let end):
                try builder.text(start..<end, path: scanner.open)
            }
        }
        document.pieces = builder.pieces
        document.references = builder.references
        return document
    }

    /// Raw appended data is not XML; the file must still end with the closing tags, or it was truncated.
    static func checkTail(_ file: ReadableFile, after start: Int64) throws {
        let tailLength = Int(min(256, file.size - start))
        let tail = String(decoding: try file.bytes(at: file.size - Int64(tailLength), count: tailLength), as: UTF8.self)
        guard tail.contains("</AppendedData>"), tail.contains("</VTKFile>") else {
            throw FormatError("the file ends without </AppendedData></VTKFile>: it is truncated")
        }
    }

    /// Builds pieces and arrays from scanner events.
    struct Builder {
        var pieces: [Piece] = []
        var references: [String] = []
        var section: String?          // PointData or CellData inside a Piece
        var current: DataArray?
        var currentIsStructural = false

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
                pieces.append(Piece(points: try count("NumberOfPoints"), cells: cells))
            case "PointData", "CellData" where parent == "Piece":
                section = name
            case "DataSet":
                if let file = a["file"], !file.isEmpty { references.append(file) }
            case "DataArray":
                guard parent != "FieldData" else { return }
                let array = try dataArray(a, document: document)
                if parent == "PointData" || parent == "CellData" {
                    currentIsStructural = false
                } else {
                    currentIsStructural = true
                }
                if selfClosing { try finish(array) } else { current = array }
            default:
                break
            }
        }

        mutating func end(_ name: String) throws {
            if name == "DataArray", let array = current {
                current = nil
                try finish(array)
            }
            if name == "PointData" || name == "CellData" { section = nil }
        }

        mutating func text(_ range: Range<Int64>, path: [String]) throws {
            guard path.last == "DataArray", current != nil else { return }
            guard current!.text == nil else { throw FormatError("DataArray '\(current!.name)' has its data split by markup") }
            current!.text = range
        }

        mutating func finish(_ array: DataArray) throws {
            guard !pieces.isEmpty else { return }   // arrays outside pieces (none in VTP/VTU) are ignored
            if array.format != .appended && array.text == nil {
                // An empty inline array: valid only when no values are expected; checked when decoded.
            }
            if currentIsStructural {
                pieces[pieces.count - 1].structural.append(array)
            } else if section == "PointData" {
                pieces[pieces.count - 1].pointData.append(array)
            } else if section == "CellData" {
                pieces[pieces.count - 1].cellData.append(array)
            }
        }

        func dataArray(_ a: [String: String], document: VTKDocument) throws -> DataArray {
            let name = a["Name"] ?? ""
            guard let typeName = a["type"] else { throw FormatError("DataArray '\(name)' has no type") }
            let components = Int(a["NumberOfComponents"] ?? "1") ?? -1
            guard components >= 1 && components <= 4096 else {
                throw FormatError("DataArray '\(name)' has NumberOfComponents='\(a["NumberOfComponents"] ?? "")'")
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
            let names = (0..<components).map { a["ComponentName\($0)"] }
            guard let type = VTKScalarType(attribute: typeName) else {
                if typeName == "String" || typeName == "Bit" {
                    // Not a numeric field: recorded with a marker type so it is skipped, never decoded.
                    return DataArray(name: name, type: .uint8, components: -1, componentNames: [], format: format,
                                     appendedOffset: offset, text: nil)
                }
                throw FormatError("DataArray '\(name)' has an unknown type '\(typeName)'")
            }
            return DataArray(name: name, type: type, components: components, componentNames: names, format: format,
                             appendedOffset: offset, text: nil)
        }
    }
}
