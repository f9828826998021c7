import LakeModel
import LakeSystem

/// Reads VTP/VTU files into Field provisions: every PointData and CellData array with its
/// statistics, over all pieces. FieldData and string arrays are not fields.
public enum VTKDatasetReader {
    /// One dataset file and a name for it in messages.
    public struct Block: Sendable {
        public var file: ReadableFile
        public var format: FileFormat
        public var name: String
        public init(file: ReadableFile, format: FileFormat, name: String) {
            self.file = file
            self.format = format
            self.name = name
        }
    }

    public static func fields(of file: ReadableFile, format: FileFormat, budget: ProcessingBudget = .unlimited) throws -> [Field] {
        try fields(of: [Block(file: file, format: format, name: Path.lastComponent(of: file.path))], budget: budget)
    }

    /// The union of several datasets' fields: the same `(label, element_assoc)` in several blocks
    /// becomes one field whose statistics are computed over all of its values together.
    public static func fields(of blocks: [Block], budget: ProcessingBudget = .unlimited) throws -> [Field] {
        try read(blocks, budget: budget).fields
    }

    /// One dataset's fields and mesh summary.
    public static func read(_ file: ReadableFile, format: FileFormat, budget: ProcessingBudget = .unlimited) throws -> (fields: [Field], mesh: MeshSummary) {
        try read([Block(file: file, format: format, name: Path.lastComponent(of: file.path))], budget: budget)
    }

    /// Several datasets' pooled fields (as `fields(of:)`) and their pooled mesh summary.
    ///
    /// Each block's geometry and topology are checked (`ArrayIntegrity`, which also gathers the
    /// mesh summary) while the fields' statistics are computed, on whichever cores are free:
    /// decoding a compressed file's points alone took a core for as long as all its fields'
    /// statistics on two. Errors are reported as if one ran after the other — a block's damaged
    /// geometry before anything found later — so a file fails with the same reason either way.
    public static func read(_ blocks: [Block], budget: ProcessingBudget = .unlimited) throws -> (fields: [Field], mesh: MeshSummary) {
        var order: [String] = []
        var groups: [String: [Entry]] = [:]
        var checks: [(integrity: ArrayIntegrity, mesh: MeshAccumulator)] = []
        /// The checks not yet run, in order; the first failure is the file's reason.
        func runChecks() throws -> [MeshSummary] {
            try checks.map { check in
                try check.integrity.check()
                return check.mesh.summary
            }
        }
        do {
            for block in blocks {
                let document = try VTKDocument.read(block.file, budget: budget)
                let expected = block.format == .vtp ? "PolyData" : "UnstructuredGrid"
                guard document.type == expected else {
                    throw FormatError("a .\(block.format.rawValue) file must hold \(expected), but \(block.name) holds \(document.type)")
                }
                let locator = PayloadLocator(file: block.file, document: document)
                let mesh = MeshAccumulator()
                checks.append((ArrayIntegrity(document: document, locator: locator, budget: budget, mesh: mesh), mesh))
                for assoc in [ElementAssoc.point, .cell] {
                    for entry in try entries(document, locator, assoc, block: block.name) {
                        let key = "\(assoc.rawValue)\u{0}\(entry.array.name)"
                        if groups[key] == nil { order.append(key) }
                        groups[key, default: []].append(entry)
                    }
                }
            }
            // Blocks' fields are pooled, so a manifest's union may pass the limit where none of its blocks does.
            let series = groups.values.reduce(0) { $0 + FieldLimits.series(components: $1[0].array.components) }
            if series > FieldLimits.series { throw FieldLimits.exceeded(series: series) }
        } catch {
            _ = try runChecks()
            throw error
        }
        let fieldBytes = bytes(of: Array(groups.values.joined()))
        // Both passes read every field's decoded bytes.
        budget.progress?.expect(2 * fieldBytes)
        let computeFields = { try VTKDatasetReader.fields(order.map { groups[$0]! }, budget: budget) }
        let meshes: [MeshSummary], fields: [Field]
        // Beside the statistics only checks that stream in small pieces: a streamed block (an
        // LZMA one fills a dictionary of up to 64 MiB) is checked on its own, as before. A small
        // file is not worth a thread.
        if fieldBytes >= ArrayStatistics.parallelThreshold, checks.allSatisfy({ $0.integrity.streamsInSmallPieces }) {
            nonisolated(unsafe) var checked: Result<[MeshSummary], any Error> = .success([])
            nonisolated(unsafe) var computed: Result<[Field], any Error> = .success([])
            nonisolated(unsafe) let (unsafeRunChecks, unsafeComputeFields) = (runChecks, computeFields)
            // Each piece writes only its own result.
            CoreShare.shared.perform(2) { piece in
                if piece == 0 { computed = Result { try unsafeComputeFields() } } else { checked = Result { try unsafeRunChecks() } }
            }
            meshes = try checked.get()
            fields = try computed.get()
        } else {
            meshes = try runChecks()
            fields = try computeFields()
        }
        return (fields, MeshSummary.pooled(meshes) ?? MeshSummary(points: 0, cells: 0, bounds: nil, cellTypes: [:]))
    }

    struct Entry {
        var array: VTKDocument.DataArray
        var assoc: ElementAssoc
        var tuples: Int64
        var segment: ArrayStatistics.Segment
        var block: String
    }

    /// One file's arrays of one association, each present in every piece with one type and width.
    static func entries(_ document: VTKDocument, _ locator: PayloadLocator, _ assoc: ElementAssoc, block: String) throws -> [Entry] {
        var order: [String] = []
        var byName: [String: [Entry]] = [:]
        for piece in document.pieces {
            let arrays = assoc == .point ? piece.pointData : piece.cellData
            let tuples = assoc == .point ? piece.points : piece.cells
            for array in arrays where array.values == .numbers {
                if byName[array.name] == nil { order.append(array.name) }
                let segment = ArrayStatistics.Segment(payload: try locator.payload(array), tuples: tuples, type: array.type,
                                                      swap: array.format != .ascii && document.bigEndian)
                byName[array.name, default: []].append(Entry(array: array, assoc: assoc, tuples: tuples, segment: segment, block: block))
            }
        }
        for name in order {
            let group = byName[name]!
            if group.count != document.pieces.count {
                throw FormatError("\(block): \(assoc.rawValue.lowercased()) array '\(name)' is in \(group.count) of \(document.pieces.count) pieces")
            }
            let first = group[0].array
            for entry in group.dropFirst() where entry.array.type != first.type || entry.array.components != first.components {
                throw FormatError("\(block): array '\(name)' changes type between pieces (\(first.type.rawValue)×\(first.components) "
                    + "then \(entry.array.type.rawValue)×\(entry.array.components))")
            }
        }
        return order.flatMap { byName[$0]! }
    }

    /// Fields of at least this many decoded bytes (and below `parallelThreshold`) are computed
    /// several at once; tinier ones cost less than handing them out (and a file of 20,000 of
    /// them, at the series limit, peaked 9 MiB higher with a second thread's heap).
    static let concurrentFieldBytes: Int64 = 64 << 10

    /// The fields of `groups`, in their order. A field of 8 MiB or more is cut into pieces of
    /// its own; smaller ones (a file of many fields of 64 KiB–8 MiB) are computed several at
    /// once, each on one core — never two large ones at once, whose decoded bytes could reach
    /// 48 MiB each. The first failure in the fields' order is thrown, as one by one would.
    static func fields(_ groups: [[Entry]], budget: ProcessingBudget) throws -> [Field] {
        var fields: [Field] = []
        fields.reserveCapacity(groups.count)
        var index = 0
        while index < groups.count {
            var end = index
            while end < groups.count, (concurrentFieldBytes..<ArrayStatistics.parallelThreshold).contains(bytes(of: groups[end])) {
                end += 1
            }
            if end - index < 2 {
                fields.append(try field(groups[index], budget: budget))
                index += 1
                continue
            }
            let small = Array(groups[index..<end])
            fields += try ArrayStatistics.runConcurrently(Array(small.indices)) { try field(small[$0], budget: budget) }
            index = end
        }
        return fields
    }

    /// A field's decoded bytes over all its arrays (saturating: a hostile file declares any count).
    static func bytes(of group: [Entry]) -> Int64 {
        group.reduce(Int64(0)) { total, entry in
            let (bytes, overflow) = entry.tuples.multipliedReportingOverflow(by: Int64(entry.array.components * entry.array.type.size))
            let (sum, past) = total.addingReportingOverflow(bytes)
            return overflow || past || sum > Int64.max / 2 ? Int64.max / 2 : sum
        }
    }

    static func field(_ group: [Entry], budget: ProcessingBudget) throws -> Field {
        let first = group[0]
        for entry in group where entry.array.components != first.array.components {
            throw FormatError("field '\(first.array.name)' (\(first.assoc.rawValue)) has \(first.array.components) components in "
                + "\(first.block) but \(entry.array.components) in \(entry.block)")
        }
        let statistics = ArrayStatistics(name: first.array.name, components: first.array.components, budget: budget)
        let result: ArrayStatistics.Result
        do {
            result = try statistics.compute(group.map(\.segment))
        } catch let error as FormatError where !budget.isSpent && !error.message.contains("'\(first.array.name)'") {
            // A decoder's message ("a compressed block cannot be decoded") says what, not where.
            let section = first.assoc == .point ? "PointData" : "CellData"
            let blocks = group.count > 1 ? " (in one of \(Set(group.map(\.block)).count > 1 ? "its blocks" : "its pieces"))" : ""
            throw FormatError("\(section) array '\(first.array.name)'\(blocks): \(error.message)")
        }
        let types = Set(group.map(\.array.type.rawValue)).sorted()
        return Field(label: first.array.name, elementAssoc: first.assoc, numComponents: first.array.components,
                     numTuples: group.reduce(Int64(0)) { $0 + $1.tuples }, dataType: types.joined(separator: "|"),
                     hasNan: result.hasNaN,
                     componentStats: result.components.enumerated().map {
                         ComponentStats(name: componentName(first.array, $0.offset), stats: $0.element)
                     },
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
}
