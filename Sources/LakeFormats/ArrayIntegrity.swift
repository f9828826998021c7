/// Checks every array of a VTP/VTU file that statistics do not read — FieldData, string and bit
/// arrays, points, connectivity, offsets, cell types — as strictly as the fields: located inside
/// the file, block headers within the data, compressed streams and base64 that decode, value
/// counts that match what the file declares, and appended arrays that do not overlap. A file
/// Lake calls READY is one VTK's own reader (and so ParaView) opens without an error.
struct ArrayIntegrity {
    let document: VTKDocument
    let locator: PayloadLocator
    let budget: ProcessingBudget
    /// Fed the geometry and topology arrays as they are decoded, when given.
    var mesh: MeshAccumulator?

    /// An appended array's encoded bytes, in file offsets.
    struct Extent {
        var start: Int64
        var end: Int64
        var what: String
    }

    func check() throws {
        var extents: [Extent] = []
        for array in document.fieldData {
            extents += try verify(array, expectedValues: array.declaredTuples.map { try values($0, array) })
        }
        for (index, piece) in document.pieces.enumerated() {
            mesh?.add(piece)
            for array in piece.pointData + piece.cellData {
                if array.values == .numbers {
                    // Fields: their counts and streams are checked when their statistics are computed.
                    extents += try extent(array, locator.payload(array))
                } else {
                    let tuples = array.section == "PointData" ? piece.points : piece.cells
                    extents += try verify(array, expectedValues: try values(tuples, array))
                }
            }
            for array in piece.structural {
                extents += try verify(array, expectedValues: try expected(array, in: piece), piece: index)
            }
        }
        try checkOverlaps(extents)
    }

    /// Whether every array `check` decodes is read in small pieces (raw, base64 or ascii, or
    /// blocks decoded whole), so checking beside the statistics adds little memory; false too
    /// when an array cannot be located (the check then says why, on its own).
    var streamsInSmallPieces: Bool {
        let checked = document.fieldData + document.pieces.flatMap { piece in
            (piece.pointData + piece.cellData).filter { $0.values != .numbers } + piece.structural
        }
        return checked.allSatisfy { array in
            guard let payload = try? locator.payload(array) else { return false }
            return payload.randomAccess || payload is AsciiPayload
        }
    }

    /// Values a geometry or topology array must hold, where the file says: three per point;
    /// one cell type per cell; one offset per cell (a leading zero tolerated). Connectivity's
    /// length is its last offset, which only a decoder of the cells would know.
    func expected(_ array: VTKDocument.DataArray, in piece: VTKDocument.Piece) throws -> (tuples: Int64, values: Int64)? {
        if array.section == "Points" { return try values(piece.points, array) }
        guard let cells = piece.sectionCells[array.section] else { return nil }
        switch array.name {
        case "types" where array.section == "Cells", "offsets":
            let (tuples, values) = try values(cells, array)
            return (tuples, values / Int64(array.components))
        default: return nil
        }
    }

    /// Tuples × components, refused when no file could hold that many.
    func values(_ tuples: Int64, _ array: VTKDocument.DataArray) throws -> (tuples: Int64, values: Int64) {
        let (product, overflow) = tuples.multipliedReportingOverflow(by: Int64(array.components))
        guard !overflow, product < Int64.max / 16 else {
            throw FormatError("\(describe(array)) declares \(tuples) tuples, more than any file can hold")
        }
        return (tuples, product)
    }

    func describe(_ array: VTKDocument.DataArray) -> String {
        let kind = array.values == .strings ? "string array" : array.values == .bits ? "bit array" : "array"
        return "\(array.section.isEmpty ? "" : array.section + " ")\(kind) '\(array.name)'"
    }

    /// Locates and decodes one array and compares its length with `expectedValues`.
    func verify(_ array: VTKDocument.DataArray, expectedValues: (tuples: Int64, values: Int64)?, piece: Int? = nil) throws -> [Extent] {
        let what = describe(array) + (document.pieces.count > 1 ? piece.map { " of piece \($0)" } ?? "" : "")
        do {
            let payload = try locator.payload(array)
            let size = Int64(array.type.size)
            var bytes = payload.byteCount
            var zeros: Int64 = 0
            // Raw numbers need no decoding: their size header was checked against the file.
            // Everything else is decoded once, which checks compressed streams and base64 (and
            // feeds the mesh summary, which reads its arrays raw or not).
            let feeding = piece != nil && mesh?.wants(array) == true ? mesh : nil
            if !(payload is RawPayload) || array.values == .strings || feeding != nil {
                var seen: Int64 = 0
                feeding?.begin(array, swap: array.format != .ascii && document.bigEndian)
                defer { feeding?.end() }
                if let inPieces = try decodeInPieces(array, payload, feeding: feeding) {
                    seen = inPieces
                } else {
                    try payload.read(0..<(bytes >= 0 ? bytes : Int64.max), budget: budget) { chunk in
                        seen += Int64(chunk.count)
                        if array.values == .strings { zeros += Int64(chunk.reduce(0) { $0 + ($1 == 0 ? 1 : 0) }) }
                        feeding?.consume(chunk)
                    }
                }
                if bytes >= 0 && seen != bytes {
                    throw FormatError("its data decodes to \(seen) bytes, not the \(bytes) its header declares")
                }
                bytes = seen
            }
            switch array.values {
            case .numbers:
                guard bytes % size == 0 else {
                    throw FormatError("its data holds \(bytes) bytes, not a whole number of \(array.type.rawValue) values")
                }
                let values = bytes / size
                if let expected = expectedValues, let allowed = allowedCounts(array, expected.values), !allowed.contains(values) {
                    throw FormatError("it should hold \(expected.tuples) tuples × \(array.components) components "
                        + "= \(expected.values) values, but its data holds \(values)")
                }
            case .strings:
                if let expected = expectedValues, zeros != expected.values {
                    throw FormatError("it declares \(expected.values) strings, but its data holds \(zeros)")
                }
            case .bits:
                break
            }
            return try extent(array, payload)
        } catch let error as FormatError {
            // The locator's messages already name a DataArray; say which one, and where it is.
            let named = "DataArray '\(array.name)'"
            var message = error.message
            if message.hasPrefix(named + ":") {
                message = String(message.dropFirst(named.count + 1).trimmingPrefix(" "))
            } else if message.hasPrefix(named) {
                message = "it" + message.dropFirst(named.count)
            }
            throw FormatError("\(what): \(message)")
        }
    }

    /// Decodes a large array of numbers that allows random access in pieces on the cores free,
    /// each piece feeding a piece of the mesh summary (a compressed file's points, decoded on one
    /// core, took as long as all its fields' statistics on two); the bytes decoded, or nil where
    /// it is read in one go (small, streamed, not whole values, or a VTP's offsets). The first
    /// failure in the array's order is thrown, as reading it in one go would.
    func decodeInPieces(_ array: VTKDocument.DataArray, _ payload: any ArrayPayload, feeding: MeshAccumulator?) throws -> Int64? {
        let bytes = payload.byteCount
        // Points start each piece at a point; other arrays at a value.
        let unit = Int64(array.type.size * (array.section == "Points" ? max(array.components, 1) : 1))
        guard array.values == .numbers, payload.randomAccess, bytes >= ArrayStatistics.parallelThreshold, bytes % unit == 0 else {
            return nil
        }
        let ranges = ArrayStatistics.pieces(of: bytes, tupleBytes: unit, decodeUnit: payload.decodeUnit)
        var parts: [MeshAccumulator?] = []
        for _ in ranges {
            guard let feeding else { parts.append(nil); continue }
            guard let part = feeding.piece() else { return nil }
            parts.append(part)
        }
        // Each piece feeds only its own part.
        nonisolated(unsafe) let unsafeParts = parts
        let seen = try ArrayStatistics.runConcurrently(Array(ranges.indices)) { [budget] index in
            var count: Int64 = 0
            try payload.read(ranges[index], budget: budget) { chunk in
                count += Int64(chunk.count)
                unsafeParts[index]?.consume(chunk)
            }
            return count
        }
        for part in parts { if let part { feeding?.merge(part) } }
        return seen.reduce(0, +)
    }

    /// Offsets may carry the leading zero of newer cell-array layouts.
    func allowedCounts(_ array: VTKDocument.DataArray, _ values: Int64) -> Set<Int64>? {
        array.name == "offsets" && array.section != "FieldData" ? [values, values + 1] : [values]
    }

    func extent(_ array: VTKDocument.DataArray, _ payload: any ArrayPayload) throws -> [Extent] {
        guard array.format == .appended, let base = document.appendedStart, let offset = array.appendedOffset,
              let end = payload.encodedEnd else { return [] }
        return [Extent(start: base + offset, end: end, what: describe(array))]
    }

    /// Appended arrays lie one after another: one whose header claims more bytes than lie before
    /// the next array (or before `</AppendedData>`) is damaged even if the file is long enough.
    func checkOverlaps(_ extents: [Extent]) throws {
        let sorted = extents.sorted { $0.start < $1.start }
        for (index, extent) in sorted.enumerated() {
            // Two arrays may share one encoding (a writer may point both at the same bytes).
            let next = sorted[(index + 1)...].first { $0.start > extent.start }
            let limit = next?.start ?? document.appendedEnd ?? Int64.max
            guard extent.end <= limit else {
                let what = next.map { "into \($0.what), which starts at offset \($0.start - document.appendedStart!)" }
                    ?? "past the end of the appended data"
                throw FormatError("\(extent.what): its data runs \(extent.end - limit) bytes \(what); its header is damaged")
            }
        }
    }
}
