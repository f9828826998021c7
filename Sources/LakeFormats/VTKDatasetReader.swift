import LakeModel
import LakeSystem

/// Reads a VTP or VTU file into Field provisions: every PointData and CellData array with its
/// statistics, over all pieces. FieldData and string arrays are not fields.
public enum VTKDatasetReader {
    public static func fields(of file: ReadableFile, format: FileFormat, budget: ProcessingBudget = .unlimited) throws -> [Field] {
        let document = try VTKDocument.read(file, budget: budget)
        let expected = format == .vtp ? "PolyData" : "UnstructuredGrid"
        guard document.type == expected else {
            throw FormatError("a .\(format.rawValue) file must hold \(expected), but this one holds \(document.type)")
        }
        let locator = PayloadLocator(file: file, document: document)
        try checkStructure(document, locator)
        var fields: [Field] = []
        for assoc in [ElementAssoc.point, .cell] {
            for group in groupedArrays(document, assoc) {
                fields.append(try field(group, assoc: assoc, document: document, locator: locator, budget: budget))
            }
        }
        return fields
    }

    /// The same array in every piece, in first-seen order; a name missing from a piece or
    /// changing type or width between pieces is an error.
    static func groupedArrays(_ document: VTKDocument, _ assoc: ElementAssoc) -> [[(VTKDocument.DataArray, Int64)]] {
        var order: [String] = []
        var groups: [String: [(VTKDocument.DataArray, Int64)]] = [:]
        for piece in document.pieces {
            let arrays = assoc == .point ? piece.pointData : piece.cellData
            let tuples = assoc == .point ? piece.points : piece.cells
            for array in arrays where array.components > 0 {
                if groups[array.name] == nil { order.append(array.name) }
                groups[array.name, default: []].append((array, tuples))
            }
        }
        return order.map { groups[$0]! }
    }

    static func field(_ group: [(VTKDocument.DataArray, Int64)], assoc: ElementAssoc, document: VTKDocument,
                      locator: PayloadLocator, budget: ProcessingBudget) throws -> Field {
        let first = group[0].0
        if group.count != document.pieces.count {
            throw FormatError("\(assoc.rawValue.lowercased()) array '\(first.name)' is in \(group.count) of \(document.pieces.count) pieces")
        }
        for (array, _) in group.dropFirst() where array.type != first.type || array.components != first.components {
            throw FormatError("array '\(first.name)' changes type between pieces (\(first.type.rawValue)×\(first.components) "
                + "then \(array.type.rawValue)×\(array.components))")
        }
        let statistics = ArrayStatistics(name: first.name, type: first.type, components: first.components,
                                         swap: first.format != .ascii && document.bigEndian, budget: budget)
        let segments = try group.map { array, count in
            ArrayStatistics.Segment(payload: try locator.payload(array), tuples: count)
        }
        let result = try statistics.compute(segments)
        let tuples = group.reduce(Int64(0)) { $0 + $1.1 }
        return Field(label: first.name, elementAssoc: assoc, numComponents: first.components, numTuples: tuples,
                     dataType: first.type.rawValue, hasNan: result.hasNaN,
                     componentStats: result.components.enumerated().map { ComponentStats(name: componentName(first, $0.offset), stats: $0.element) },
                     magnitudeStats: result.magnitude)
    }

    static func componentName(_ array: VTKDocument.DataArray, _ index: Int) -> String {
        if index < array.componentNames.count, let name = array.componentNames[index], !name.isEmpty { return name }
        switch array.components {
        case 3: return ["X", "Y", "Z"][index]
        case 9: return ["XX", "XY", "XZ", "YX", "YY", "YZ", "ZX", "ZY", "ZZ"][index]
        default: return String(index)
        }
    }

    /// Geometry and topology arrays are not fields, but their declared sizes must fit the file.
    static func checkStructure(_ document: VTKDocument, _ locator: PayloadLocator) throws {
        for piece in document.pieces {
            for array in piece.structural where array.components > 0 && array.format != .ascii {
                _ = try locator.payload(array)
            }
        }
    }
}
