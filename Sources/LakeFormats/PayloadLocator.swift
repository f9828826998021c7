import LakeSystem

/// Finds where a DataArray's bytes are and how they are encoded, checking every declared size
/// against the file before anything is allocated.
struct PayloadLocator {
    let file: ReadableFile
    let document: VTKDocument

    var headerSize: Int { document.headerType.size }

    func words(_ bytes: ArraySlice<UInt8>) -> [UInt64] {
        let size = headerSize
        return stride(from: bytes.startIndex, to: bytes.endIndex - size + 1, by: size).map { start in
            var value: UInt64 = 0
            for i in 0..<size {
                let byte = UInt64(bytes[start + (document.bigEndian ? i : size - 1 - i)])
                value = value << 8 | byte
            }
            return value
        }
    }

    func payload(_ array: VTKDocument.DataArray) throws -> any ArrayPayload {
        let what = "DataArray '\(array.name)'"
        switch array.format {
        case .ascii:
            guard let text = array.text else { return RawPayload(file: file, start: 0, byteCount: 0) }
            return AsciiPayload(file: file, text: text, type: array.type, name: array.name)
        case .binary:
            guard let text = array.text else {
                throw FormatError("\(what) is binary but has no data")
            }
            let trimmed = try trim(text)
            return try base64Payload(start: trimmed.lowerBound, end: trimmed.upperBound, what: what)
        case .appended:
            guard let base = document.appendedStart, let offset = array.appendedOffset else {
                throw FormatError("\(what) is appended but the file has no <AppendedData>")
            }
            guard offset < file.size - base else {
                throw FormatError("\(what) has offset \(offset), past the end of the file")
            }
            let start = base + offset
            guard start < file.size else {
                throw FormatError("\(what) has offset \(offset), past the end of the file")
            }
            if document.appendedEncoding == "base64" {
                return try base64Payload(start: start, end: nil, what: what)
            }
            return try rawPayload(start: start, what: what)
        }
    }

    func trim(_ range: Range<Int64>) throws -> Range<Int64> {
        let bytes = try file.bytes(at: range.lowerBound, count: Int(min(range.count, 64)))
        let lead = bytes.prefix { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }.count
        let tailBytes = try file.bytes(at: max(range.lowerBound, range.upperBound - 64), count: Int(min(range.count, 64)))
        let trail = tailBytes.reversed().prefix { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }.count
        return (range.lowerBound + Int64(lead))..<max(range.lowerBound + Int64(lead), range.upperBound - Int64(trail))
    }

    func rawPayload(start: Int64, what: String) throws -> any ArrayPayload {
        let available = file.size - start
        if let compressor = document.compressor {
            let first = try file.bytes(at: start, count: 3 * headerSize)
            guard first.count == 3 * headerSize else { throw FormatError("\(what): the compression header runs past the end of the file") }
            let count = words(first[...])[0]
            let headerBytes = (3 + Int64(min(count, UInt64(Int32.max)))) * Int64(headerSize)
            guard count < UInt64(Int32.max), headerBytes <= available else {
                throw FormatError("\(what): the compression header declares \(count) blocks, more than the file can hold")
            }
            let header = words(try file.bytes(at: start, count: Int(headerBytes))[...])
            return try BlockPayload(source: .file(file, start: start + headerBytes), compressor: compressor, header: header,
                                    available: available - headerBytes, what: what)
        }
        let header = try file.bytes(at: start, count: headerSize)
        guard header.count == headerSize else { throw FormatError("\(what): the size header runs past the end of the file") }
        let size = words(header[...])[0]
        guard size <= UInt64(available - Int64(headerSize)) else {
            throw FormatError("\(what): its header declares \(size) bytes but only \(available - Int64(headerSize)) remain in the file")
        }
        return RawPayload(file: file, start: start + Int64(headerSize), byteCount: Int64(size))
    }

    /// A base64 payload starting at `start`; for inline data `end` bounds the text exactly.
    func base64Payload(start: Int64, end: Int64?, what: String) throws -> any ArrayPayload {
        let limit = end ?? file.size
        if let compressor = document.compressor {
            let firstChars = Base64Run.characters(for: Int64(3 * headerSize))
            let probe = try Base64Run(file: file, start: start, characters: min(firstChars, (limit - start) / 4 * 4), what: what)
            let first = try probe.decode(0..<min(Int64(3 * headerSize), probe.decodedCount))
            guard first.count == 3 * headerSize else { throw FormatError("\(what): the compression header is truncated") }
            let count = words(first[...])[0]
            guard count < UInt64(Int32.max) else {
                throw FormatError("\(what): the compression header declares \(count) blocks, more than the data can hold")
            }
            let headerBytes = (3 + Int64(count)) * Int64(headerSize)
            let headerChars = Base64Run.characters(for: headerBytes)
            guard start + headerChars <= limit else {
                throw FormatError("\(what): the compression header declares \(count) blocks, more than the data can hold")
            }
            let headerRun = try Base64Run(file: file, start: start, characters: headerChars, what: what)
            let header = words(try headerRun.decode(0..<headerBytes)[...])
            var compressedTotal: UInt64 = 0
            for size in header.dropFirst(3) {
                let (sum, overflow) = compressedTotal.addingReportingOverflow(size)
                guard !overflow, sum < UInt64(Int64.max / 4) else {
                    throw FormatError("\(what): the compressed block sizes exceed the data in the file")
                }
                compressedTotal = sum
            }
            let dataChars = Base64Run.characters(for: Int64(compressedTotal))
            guard start + headerChars + dataChars <= limit else {
                throw FormatError("\(what): the compressed block sizes exceed the data in the file")
            }
            if let end, start + headerChars + dataChars != end {
                throw FormatError("\(what): base64 data of the wrong length (\(end - start - headerChars) characters of blocks, "
                    + "the header declares \(dataChars))")
            }
            let dataRun = try Base64Run(file: file, start: start + headerChars, characters: dataChars, what: what)
            guard dataRun.decodedCount == Int64(compressedTotal) else {
                throw FormatError("\(what): base64 data of the wrong length for its compressed blocks")
            }
            return try BlockPayload(source: .base64(dataRun), compressor: compressor, header: header,
                                    available: dataRun.decodedCount, what: what)
        }
        let probeChars = Base64Run.characters(for: Int64(headerSize))
        guard start + probeChars <= limit else { throw FormatError("\(what): the size header is truncated") }
        let probe = try Base64Run(file: file, start: start, characters: probeChars, what: what)
        let size = words(try probe.decode(0..<Int64(headerSize))[...])[0]
        guard size < UInt64(limit - start) else {
            throw FormatError("\(what): its header declares \(size) bytes, more than the data in the file")
        }
        let total = Int64(headerSize) + Int64(size)
        let characters = Base64Run.characters(for: total)
        if let end, start + characters != end {
            throw FormatError("\(what): base64 data of the wrong length (\(end - start) characters; its header declares \(size) bytes, which is \(characters) characters)")
        }
        guard start + characters <= limit else { throw FormatError("\(what): the base64 data is truncated") }
        let run = try Base64Run(file: file, start: start, characters: characters, what: what)
        guard run.decodedCount == total else { throw FormatError("\(what): base64 data of the wrong length") }
        return Base64Payload(run: run, skip: Int64(headerSize), byteCount: Int64(size))
    }
}
