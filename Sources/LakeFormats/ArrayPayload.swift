import LakeSystem

/// The decoded bytes of one DataArray (in the file's byte order), delivered in order. Payloads
/// that allow random access let statistics run over ranges on several cores.
protocol ArrayPayload: Sendable {
    var byteCount: Int64 { get }
    var randomAccess: Bool { get }
    /// The file offset just past the encoded bytes (header included); nil for inline ascii text.
    var encodedEnd: Int64? { get }
    /// Calls `body` with consecutive pieces of the decoded bytes in `range`.
    func read(_ range: Range<Int64>, budget: ProcessingBudget, _ body: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Decoded bytes decoded together: a range starting inside such a unit decodes it again.
    var decodeUnit: Int64 { get }
}

extension ArrayPayload {
    var decodeUnit: Int64 { 1 }
}

/// Uncompressed bytes stored directly in the file.
struct RawPayload: ArrayPayload {
    let file: ReadableFile
    let start: Int64
    let byteCount: Int64
    var randomAccess: Bool { true }
    var encodedEnd: Int64? { start + byteCount }
    /// Read and processed a chunk at a time: small enough to stay in a core's cache between the
    /// copy out of the page cache and the statistics.
    static let chunk = 512 << 10

    func read(_ range: Range<Int64>, budget: ProcessingBudget, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(Int64(Self.chunk), max(range.upperBound - range.lowerBound, 1))), alignment: 16)
        defer { buffer.deallocate() }
        var position = range.lowerBound
        while position < range.upperBound {
            try budget.check()
            let want = Int(min(Int64(Self.chunk), range.upperBound - position))
            let got = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]), at: start + position)
            guard got == want else { throw FormatError("the data ends early: the file is truncated") }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<got]))
            position += Int64(got)
        }
    }
}

/// Uncompressed bytes inside a base64 run.
struct Base64Payload: ArrayPayload {
    let run: Base64Run
    let skip: Int64           // header bytes before the data
    let byteCount: Int64
    var randomAccess: Bool { true }
    var encodedEnd: Int64? { run.start + run.characters }
    static let chunk: Int64 = 3 << 20

    func read(_ range: Range<Int64>, budget: ProcessingBudget, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var position = range.lowerBound
        while position < range.upperBound {
            try budget.check()
            let end = min(position + Self.chunk, range.upperBound)
            let bytes = try run.decode((skip + position)..<(skip + end))
            try bytes.withUnsafeBytes { try body($0) }
            position = end
        }
    }
}

/// Where the compressed bytes of a block come from: the file, or a base64 run.
enum BlockSource: Sendable {
    case file(ReadableFile, start: Int64)
    case base64(Base64Run)

    func bytes(_ range: Range<Int64>) throws -> [UInt8] {
        switch self {
        case .file(let file, let start):
            let bytes = try file.bytes(at: start + range.lowerBound, count: Int(range.count))
            guard bytes.count == range.count else { throw FormatError("a compressed block runs past the end of the file") }
            return bytes
        case .base64(let run):
            return try run.decode(range)
        }
    }

    /// Reads `range` into `buffer` (of `range.count` bytes); returns fewer bytes at the file's end.
    func read(_ range: Range<Int64>, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        switch self {
        case .file(let file, let start):
            return try file.read(into: buffer, at: start + range.lowerBound)
        case .base64(let run):
            let bytes = try run.decode(range)
            bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
            return bytes.count
        }
    }
}

/// Compressed data: `[nblocks, blocksize, lastblocksize, csize_0 … csize_n-1]` then the blocks.
/// Blocks up to `wholeBlockLimit` (VTK writes 32 KiB) are decoded whole, one after another; a
/// larger block is decoded as a stream (`StreamedBlock`), so no block size costs more memory.
struct BlockPayload: ArrayPayload {
    let source: BlockSource
    let compressor: Compressor
    let blockSize: Int64
    let lastBlockSize: Int64
    let blockOffsets: [Int64]      // n + 1 offsets into the compressed bytes
    let byteCount: Int64
    /// Streamed blocks are read in order by one thread: a range starting inside one would
    /// decode its start again, and two LZMA streams would each fill a dictionary of up to 64 MiB.
    var randomAccess: Bool { blockSize <= Self.wholeBlockLimit }
    var decodeUnit: Int64 { blockSize }

    static let wholeBlockLimit: Int64 = 4 << 20

    init(source: BlockSource, compressor: Compressor, header: [UInt64], available: Int64, what: String) throws {
        let count = Int64(header[0])
        guard header.count == 3 + Int(count) else { throw FormatError("\(what): the compression header is incomplete") }
        blockSize = Int64(clamping: header[1])
        lastBlockSize = Int64(clamping: header[2])
        guard count == 0 || (blockSize > 0 && lastBlockSize <= blockSize) else {
            throw FormatError("\(what): the compression header declares blocks of \(header[1]) bytes and a last block of \(header[2])")
        }
        var offsets: [Int64] = [0]
        offsets.reserveCapacity(Int(count) + 1)
        for i in 0..<Int(count) {
            guard header[3 + i] <= UInt64(available) else {
                throw FormatError("\(what): the compressed block sizes exceed the data in the file (\(available) bytes)")
            }
            offsets.append(offsets.last! + Int64(header[3 + i]))
            guard offsets.last! <= available else {
                throw FormatError("\(what): the compressed block sizes (\(offsets.last!) bytes so far) exceed the data in the file (\(available) bytes)")
            }
        }
        blockOffsets = offsets
        self.source = source
        self.compressor = compressor
        let (full, overflow) = (count - 1).multipliedReportingOverflow(by: blockSize)
        let (total, overflowAgain) = full.addingReportingOverflow(lastBlockSize == 0 ? blockSize : lastBlockSize)
        guard count == 0 || !(overflow || overflowAgain) else {
            throw FormatError("\(what): the compression header declares an impossible size")
        }
        byteCount = count == 0 ? 0 : total
    }

    var blockCount: Int { blockOffsets.count - 1 }

    var encodedEnd: Int64? {
        switch source {
        case .file(_, let start): start + blockOffsets.last!
        case .base64(let run): run.start + run.characters
        }
    }

    func decodedSize(ofBlock i: Int) -> Int {
        Int(i == blockCount - 1 && lastBlockSize != 0 ? lastBlockSize : blockSize)
    }

    func read(_ range: Range<Int64>, budget: ProcessingBudget, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !range.isEmpty else { return }
        guard randomAccess else { return try readStreamed(range, budget: budget, body) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(blockSize), alignment: 16)
        defer { buffer.deallocate() }
        let state = BlockDecoding()
        let first = Int(range.lowerBound / blockSize)
        let last = Int((range.upperBound - 1) / blockSize)
        for block in first...last {
            try budget.check()
            let compressed = try source.bytes(blockOffsets[block]..<blockOffsets[block + 1])
            let size = decodedSize(ofBlock: block)
            try compressed.withUnsafeBytes { input in
                try compressor.decompress(input, into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<size]), state: state)
            }
            let blockStart = Int64(block) * blockSize
            let from = Int(max(range.lowerBound, blockStart) - blockStart)
            let to = Int(min(range.upperBound, blockStart + Int64(size)) - blockStart)
            try body(UnsafeRawBufferPointer(rebasing: buffer[from..<to]))
        }
    }

    private func readStreamed(_ range: Range<Int64>, budget: ProcessingBudget, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let first = Int(range.lowerBound / blockSize)
        let last = Int((range.upperBound - 1) / blockSize)
        for block in first...last {
            try budget.check()
            var position = Int64(block) * blockSize
            let stream = StreamedBlock(compressor: compressor, source: source, compressed: blockOffsets[block]..<blockOffsets[block + 1],
                                       decodedSize: Int64(decodedSize(ofBlock: block)))
            try stream.decode(budget: budget) { piece in
                let pieceRange = position..<(position + Int64(piece.count))
                position = pieceRange.upperBound
                let wanted = pieceRange.clamped(to: range)
                if !wanted.isEmpty {
                    let from = Int(wanted.lowerBound - pieceRange.lowerBound)
                    try body(UnsafeRawBufferPointer(rebasing: piece[from..<(from + wanted.count)]))
                }
                return position < range.upperBound
            }
        }
    }
}

/// Decoded bytes held in memory: a compressed or base64 array small enough to keep is decoded
/// once, for both statistics passes (`ArrayStatistics.decodedOnce`), instead of once per pass.
struct MemoryPayload: ArrayPayload {
    final class Storage: @unchecked Sendable {
        // Written only while the payload is decoded (each range by one thread), read-only after.
        let bytes: UnsafeMutableRawBufferPointer
        init(count: Int) { bytes = .allocate(byteCount: max(count, 1), alignment: 16) }
        deinit { bytes.deallocate() }
    }

    let storage: Storage
    let byteCount: Int64
    var randomAccess: Bool { true }
    let encodedEnd: Int64?

    func read(_ range: Range<Int64>, budget: ProcessingBudget, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        try budget.check()
        try body(UnsafeRawBufferPointer(rebasing: storage.bytes[Int(range.lowerBound)..<Int(range.upperBound)]))
    }
}
