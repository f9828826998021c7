import CLZMA
import CZlib

/// One compressed block too large to hold whole, decoded a piece at a time: its compressed
/// bytes are read `inputPiece` at a time and its decoded bytes delivered `outputPiece` at a
/// time, so memory stays at the pieces' size whatever size the block declares. VTK writes
/// 32 KiB blocks, but `SetBlockSize` takes any size, and a file written with one block per
/// array is still a valid file (it used to be refused above 64 MiB, and decoded whole below).
///
/// It accepts exactly what the whole-block decoders accept (`Compressor.decompress`), which
/// the `lake-fuzz` targets `zlib-stream`, `lz4-stream` and `lzma-stream` check against them.
struct StreamedBlock {
    let compressor: Compressor
    let source: BlockSource
    let compressed: Range<Int64>     // the block's bytes in `source`
    let decodedSize: Int64
    var inputPiece = 1 << 20
    var outputPiece = 2 << 20

    /// Calls `deliver` with consecutive pieces of the decoded block until it returns false or
    /// the block ends; checks the block's integrity and declared size when it is read to its end.
    func decode(budget: ProcessingBudget, _ deliver: (UnsafeRawBufferPointer) throws -> Bool) throws {
        var input = PieceInput(source: source, range: compressed, capacity: inputPiece)
        defer { input.buffer.deallocate() }
        switch compressor {
        case .zlib: try inflate(&input, budget, deliver)
        case .lzma: try unlzma(&input, budget, deliver)
        case .lz4:
            var decoder = LZ4BlockStream(decodedSize: decodedSize, outputPiece: outputPiece)
            defer { decoder.window.deallocate() }
            try decoder.decode(&input, budget, deliver)
        }
    }

    /// What one call of a stream decoder did with a piece of input and an output buffer.
    private typealias Step = (consumed: Int, made: Int, ended: Bool)

    /// Feeds the block to a stream decoder (`step`, told when its input is the block's last) and
    /// delivers what it makes, checking the decoded size as it goes and when the stream ends.
    private func pump(_ input: inout PieceInput, _ budget: ProcessingBudget, _ deliver: (UnsafeRawBufferPointer) throws -> Bool,
                      _ step: (UnsafeRawBufferPointer, UnsafeMutableRawBufferPointer, _ last: Bool) throws -> Step) throws {
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: outputPiece, alignment: 16)
        defer { output.deallocate() }
        var produced: Int64 = 0
        while true {
            try budget.check()
            if input.available == 0 { _ = try input.refill() }
            let pending = input.pending
            let done = try step(pending, output, input.remaining == Int64(pending.count))
            input.advance(done.consumed)
            produced += Int64(done.made)
            guard produced <= decodedSize else {
                throw FormatError("a compressed block cannot be decoded: it decodes to more bytes than its header declares (\(decodedSize))")
            }
            let made = UnsafeRawBufferPointer(rebasing: output[..<done.made])
            if done.ended {
                guard produced == decodedSize else {
                    throw FormatError("a compressed block cannot be decoded: it decodes to \(produced) bytes where its header declares \(decodedSize)")
                }
                _ = try deliver(made)
                return
            }
            if done.made > 0, try !deliver(made) { return }
        }
    }

    private func inflate(_ input: inout PieceInput, _ budget: ProcessingBudget,
                         _ deliver: (UnsafeRawBufferPointer) throws -> Bool) throws {
        var stream = z_stream()
        guard lake_inflate_init(&stream) == Z_OK else { throw FormatError("out of memory to decode a compressed block") }
        defer { inflateEnd(&stream) }
        try pump(&input, budget, deliver) { pending, output, last in
            stream.next_in = UnsafeMutablePointer(mutating: pending.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = UInt32(pending.count)
            stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = UInt32(output.count)
            let status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let done: Step = (pending.count - Int(stream.avail_in), output.count - Int(stream.avail_out), status == Z_STREAM_END)
            switch status {
            // Bytes after the stream's end are ignored, as libdeflate ignores them.
            case Z_OK, Z_STREAM_END: return done
            case Z_BUF_ERROR where done.made > 0 || done.consumed > 0: return done
            case Z_BUF_ERROR where last && pending.isEmpty:
                throw FormatError("a compressed block cannot be decoded: the zlib data ends before its stream does")
            case Z_NEED_DICT: throw FormatError("a compressed block cannot be decoded: the zlib data asks for a preset dictionary")
            case Z_MEM_ERROR: throw FormatError("out of memory to decode a compressed block")
            default: throw FormatError("a compressed block cannot be decoded: the zlib data is corrupt")
            }
        }
    }

    private func unlzma(_ input: inout PieceInput, _ budget: ProcessingBudget,
                        _ deliver: (UnsafeRawBufferPointer) throws -> Bool) throws {
        var stream = lzma_stream()
        guard lzma_stream_decoder(&stream, Compressor.lzmaMemoryLimit, 0) == LZMA_OK else {
            throw FormatError("out of memory to decode a compressed block")
        }
        defer { lzma_end(&stream) }
        try pump(&input, budget, deliver) { pending, output, last in
            stream.next_in = pending.baseAddress?.assumingMemoryBound(to: UInt8.self)
            stream.avail_in = pending.count
            stream.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
            stream.avail_out = output.count
            let status = lzma_code(&stream, last ? LZMA_FINISH : LZMA_RUN)
            let done: Step = (pending.count - stream.avail_in, output.count - stream.avail_out, status == LZMA_STREAM_END)
            switch status {
            case LZMA_OK: return done
            case LZMA_STREAM_END:
                // The whole-block decoder takes one stream and nothing after it.
                guard last && done.consumed == pending.count else {
                    throw FormatError("a compressed block cannot be decoded: bytes follow the end of its LZMA stream")
                }
                return done
            case LZMA_MEMLIMIT_ERROR: throw Compressor.lzmaMemoryRefusal
            default:
                throw FormatError("a compressed block cannot be decoded: the LZMA data is corrupt or does not match its declared size (status \(status.rawValue))")
            }
        }
    }
}

/// A block's compressed bytes, read from its source one piece at a time into one buffer.
struct PieceInput {
    let source: BlockSource
    let range: Range<Int64>
    let buffer: UnsafeMutableRawBufferPointer
    private var next: Int64
    private var position = 0
    private var count = 0

    init(source: BlockSource, range: Range<Int64>, capacity: Int) {
        self.source = source
        self.range = range
        buffer = .allocate(byteCount: capacity, alignment: 16)
        next = range.lowerBound
    }

    /// Bytes read but not yet consumed.
    var available: Int { count - position }
    var pending: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buffer[position..<count]) }
    /// Bytes of the block not yet consumed (read or not).
    var remaining: Int64 { range.upperBound - next + Int64(available) }

    mutating func advance(_ bytes: Int) { position += bytes }

    /// Reads the next piece once the current one is consumed; false at the block's end.
    mutating func refill() throws -> Bool {
        precondition(available == 0)
        guard next < range.upperBound else { return false }
        let want = Int(min(Int64(buffer.count), range.upperBound - next))
        let got = try source.read(next..<(next + Int64(want)), into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<want]))
        guard got == want else { throw FormatError("a compressed block runs past the end of the file") }
        next += Int64(got)
        position = 0
        count = got
        return true
    }

    mutating func byte() throws -> UInt8 {
        if available == 0, try !refill() { throw LZ4BlockStream.corrupt }
        defer { position += 1 }
        return buffer[position]
    }
}
