/// One raw LZ4 block (the format VTK's LZ4 compressor writes: sequences of literals and
/// matches, no frame) decoded as a stream, for blocks too large to hold whole. liblz4 decodes a
/// block only from one buffer into another; a match reaches at most 65,535 bytes back, so
/// keeping that much of the output is enough to go on.
///
/// The rules are liblz4's (`LZ4_decompress_safe`, 1.9), so a block decodes the same whether it
/// is held whole or streamed: the last sequence is literals only and ends the input exactly;
/// a sequence whose literals end within 12 bytes of the output's end or within 8 of the
/// input's is taken for the last; a match may not end within the output's last 5 bytes nor
/// reach before its start; length bytes may not run into the input's last bytes. One rule
/// differs: liblz4 takes an offset of 0 (which no encoder writes) and this refuses it.
struct LZ4BlockStream {
    static let corrupt = FormatError("a compressed block cannot be decoded: the LZ4 data is corrupt or does not match its declared size")
    static let zeroOffset = FormatError("a compressed block cannot be decoded: the LZ4 data has a match at offset 0")
    static let history = 65_536

    let decodedSize: Int64
    /// The last `history` bytes delivered, then the bytes not yet delivered.
    let window: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var undelivered = 0
    private var produced: Int64 = 0
    private var stopped = false

    init(decodedSize: Int64, outputPiece: Int) {
        self.decodedSize = decodedSize
        window = .allocate(byteCount: Self.history + max(outputPiece, 1), alignment: 16)
    }

    mutating func decode(_ input: inout PieceInput, _ budget: ProcessingBudget,
                         _ deliver: (UnsafeRawBufferPointer) throws -> Bool) throws {
        while !stopped {
            let token = try input.byte()
            var literals = Int64(token >> 4)
            if literals == 15 {
                guard input.remaining > 15 else { throw Self.corrupt }
                var more: UInt8
                repeat {
                    more = try input.byte()
                    literals += Int64(more)
                } while more == 255 && input.remaining > 15
            }
            let outputLeft = decodedSize - produced
            if literals > outputLeft - 12 || literals > input.remaining - 8 {
                // The last sequence: its literals end the input and fit the output.
                guard literals == input.remaining, literals <= outputLeft else { throw Self.corrupt }
                try copyLiterals(literals, &input, budget, deliver)
                guard stopped || produced == decodedSize else { throw Self.corrupt }
                break
            }
            try copyLiterals(literals, &input, budget, deliver)
            let offset = Int(try input.byte()) | Int(try input.byte()) << 8
            var length = Int64(token & 15)
            if length == 15 {
                var more: UInt8
                repeat {
                    more = try input.byte()
                    length += Int64(more)
                    guard input.remaining > 4 else { throw Self.corrupt }
                } while more == 255
            }
            length += 4
            guard Int64(offset) <= produced else { throw Self.corrupt }
            guard offset > 0 else { throw Self.zeroOffset }
            guard length <= decodedSize - produced - 5 else { throw Self.corrupt }
            try copyMatch(offset: offset, length: length, budget, deliver)
        }
        if !stopped { try flush(deliver) }
    }

    private mutating func copyLiterals(_ count: Int64, _ input: inout PieceInput, _ budget: ProcessingBudget,
                                       _ deliver: (UnsafeRawBufferPointer) throws -> Bool) throws {
        var left = count
        while left > 0 && !stopped {
            if input.available == 0, try !input.refill() { throw Self.corrupt }
            if filled == window.count { try flush(deliver); try budget.check() }
            let n = Int(min(left, Int64(input.available), Int64(window.count - filled)))
            UnsafeMutableRawBufferPointer(rebasing: window[filled..<(filled + n)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: input.pending[..<n]))
            input.advance(n)
            filled += n
            produced += Int64(n)
            left -= Int64(n)
        }
    }

    /// Copies `length` bytes from `offset` back. A match longer than its offset repeats the
    /// bytes it starts with; copying what is already written doubles the run at each step.
    private mutating func copyMatch(offset: Int, length: Int64, _ budget: ProcessingBudget,
                                    _ deliver: (UnsafeRawBufferPointer) throws -> Bool) throws {
        var left = length
        var from = filled - offset
        while left > 0 && !stopped {
            if filled == window.count {
                try flush(deliver)
                try budget.check()
                from = filled - offset
            }
            let n = Int(min(left, Int64(filled - from), Int64(window.count - filled)))
            let base = window.baseAddress!
            (base + filled).copyMemory(from: base + from, byteCount: n)
            filled += n
            produced += Int64(n)
            left -= Int64(n)
        }
    }

    /// Delivers what is not yet delivered and keeps the last `history` bytes for later matches.
    private mutating func flush(_ deliver: (UnsafeRawBufferPointer) throws -> Bool) throws {
        if filled > undelivered, try !deliver(UnsafeRawBufferPointer(rebasing: window[undelivered..<filled])) {
            stopped = true
            return
        }
        let keep = min(filled, Self.history)
        let base = window.baseAddress!
        (base).copyMemory(from: base + (filled - keep), byteCount: keep)
        filled = keep
        undelivered = keep
    }
}
