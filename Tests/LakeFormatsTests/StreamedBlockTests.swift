import CLZ4
import CLZMA
import CZlib
import Foundation
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFormats

/// The streamed decoders of a compressed block (blocks over 4 MiB) against the whole-block ones:
/// the same bytes at every piece size, the same refusals for damaged blocks. LAKE_FUZZ_ITERATIONS
/// raises the number of mutants (the coverage-guided targets are `lake-fuzz`'s *-stream).
@Suite struct StreamedBlockTests {
    static let compressors: [Compressor] = [.zlib, .lz4, .lzma]

    static func encode(_ data: [UInt8], _ compressor: Compressor) -> [UInt8] {
        switch compressor {
        case .zlib:
            var size = compressBound(uLong(data.count))
            var out = [UInt8](repeating: 0, count: Int(size))
            #expect(compress2(&out, &size, data, uLong(data.count), 6) == Z_OK)
            return Array(out[..<Int(size)])
        case .lz4:
            let bound = LZ4_compressBound(Int32(data.count))
            var out = [UInt8](repeating: 0, count: Int(bound))
            let size = data.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { output in
                    LZ4_compress_default(input.baseAddress?.assumingMemoryBound(to: CChar.self),
                                         output.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(data.count), bound)
                }
            }
            return Array(out[..<Int(size)])
        case .lzma:
            var out = [UInt8](repeating: 0, count: data.count + data.count / 2 + 4096)
            var size = 0
            #expect(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, nil, data, data.count, &out, &size, out.count) == LZMA_OK)
            return Array(out[..<size])
        }
    }

    /// Data shapes that make every kind of sequence: long runs (matches far longer than their
    /// offset), incompressible bytes (long literals), short periods, float fields.
    static func shapes() -> [(String, [UInt8])] {
        var seeded = SplitMix(state: 0x5eed)
        let noise = (0..<150_000).map { _ in UInt8.random(in: 0...255, using: &seeded) }
        let floats = (0..<100_000).flatMap { i -> [UInt8] in
            withUnsafeBytes(of: Float(i % 251) * 0.5 + Float(i / 9_000)) { Array($0) }
        }
        return [("zeros", [UInt8](repeating: 0, count: 300_000)),
                ("noise", noise),
                ("period 3", Array((0..<200_000).map { UInt8($0 % 3) })),
                ("floats", floats),
                ("mixed", Array(noise[..<70_000]) + [UInt8](repeating: 7, count: 90_000) + Array(noise[..<70_000])),
                ("tiny", Array("just a few bytes!".utf8))]
    }

    func file(_ bytes: [UInt8], in directory: TemporaryDirectory) throws -> ReadableFile {
        let path = directory.write("block", Data(bytes))
        return try ReadableFile(path: path)
    }

    func streamed(_ compressor: Compressor, _ file: ReadableFile, count: Int, size: Int, input: Int, output: Int) -> BlockDecodingComparison.Outcome {
        BlockDecodingComparison.streamed(compressor.rawValue, file: file, range: 0..<Int64(count), decodedSize: size,
                                         inputPiece: input, outputPiece: output)!
    }

    @Test(arguments: compressors)
    func everyShapeDecodesTheSameAtEveryPieceSize(_ compressor: Compressor) throws {
        let directory = TemporaryDirectory()
        for (name, data) in Self.shapes() {
            let block = Self.encode(data, compressor)
            let file = try file(block, in: directory)
            #expect(BlockDecodingComparison.whole(compressor.rawValue, block, decodedSize: data.count) == .decoded(data), "\(name)")
            for (input, output) in [(1, 1), (3, 7), (1, 65_536), (4096, 17), (1 << 20, 2 << 20), (5, 300_001)] {
                let outcome = streamed(compressor, file, count: block.count, size: data.count, input: input, output: output)
                #expect(outcome == .decoded(data), "\(compressor) \(name), pieces \(input)/\(output): \(outcome.summary)")
            }
        }
    }

    @Test(arguments: compressors)
    func aDeclaredSizeThatDiffersIsRefused(_ compressor: Compressor) throws {
        let directory = TemporaryDirectory()
        let data = Self.shapes()[3].1
        let block = Self.encode(data, compressor)
        let file = try file(block, in: directory)
        for size in [data.count - 1, data.count + 1, data.count / 2, data.count * 2] {
            let outcome = streamed(compressor, file, count: block.count, size: size, input: 999, output: 4096)
            guard case .refused(let why) = outcome else {
                Issue.record("\(compressor): a declared size of \(size) for \(data.count) bytes was decoded")
                continue
            }
            #expect(why.contains("cannot be decoded"), "\(why)")
        }
        // A block cut short, or with bytes after it, is refused as the whole-block decoder refuses it.
        for cut in [block.count - 1, block.count / 2, 1, 0] {
            let outcome = streamed(compressor, file, count: cut, size: data.count, input: 64, output: 4096)
            #expect(outcome.isRefused, "\(compressor): a block cut to \(cut) of \(block.count) bytes was decoded")
        }
    }

    /// An .xz stream whose LZMA2 dictionary is declared as `code` (30: 128 MiB) in its first block's
    /// header, the header's CRC32 made again: what a file compressed with a huge dictionary
    /// looks like to a decoder (one made with it would need ten times that to encode).
    static func withDictionary(_ xz: [UInt8], code: UInt8) -> [UInt8] {
        var bytes = xz
        let start = 12                                   // after the stream header
        let size = (Int(bytes[start]) + 1) * 4
        let flags = bytes[start + 1]
        var at = start + 2
        func skipNumber() { while bytes[at] & 0x80 != 0 { at += 1 }; at += 1 }
        if flags & 0x40 != 0 { skipNumber() }           // compressed size
        if flags & 0x80 != 0 { skipNumber() }           // uncompressed size
        #expect(bytes[at] == 0x21 && bytes[at + 1] == 1, "the first filter is LZMA2 with one byte of properties")
        bytes[at + 2] = code
        let crc = Array(bytes[start..<(start + size - 4)]).withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        withUnsafeBytes(of: crc.littleEndian) { bytes.replaceSubrange((start + size - 4)..<(start + size), with: $0) }
        return bytes
    }

    /// An LZMA block asking for a dictionary of 128 MiB is refused by both decoders before any
    /// of it is allocated; 32 MiB (xz -9 takes 64) decodes.
    @Test func anLZMABlockAskingForTooMuchMemoryIsRefused() throws {
        let directory = TemporaryDirectory()
        let data = Self.shapes()[3].1
        let xz = Self.encode(data, .lzma)
        for (code, refused) in [(UInt8(30), true), (UInt8(26), false)] {
            let block = Self.withDictionary(xz, code: code)
            let whole = BlockDecodingComparison.whole(Compressor.lzma.rawValue, block, decodedSize: data.count)!
            let stream = streamed(.lzma, try file(block, in: directory), count: block.count, size: data.count, input: 4096, output: 4096)
            let expected: BlockDecodingComparison.Outcome = refused ? .refused(Compressor.lzmaMemoryRefusal.message) : .decoded(data)
            #expect(whole == expected && stream == expected, "code \(code): whole \(whole.summary), streamed \(stream.summary)")
        }
    }

    /// One LZ4 sequence: literals, then (unless it is the last) a match of `match` bytes at `offset`.
    static func lz4Sequence(_ literals: [UInt8], offset: Int? = nil, match: Int = 4) -> [UInt8] {
        func lengthBytes(_ extra: Int) -> [UInt8] {
            var bytes: [UInt8] = []
            var left = extra
            while left >= 255 { bytes.append(255); left -= 255 }
            return bytes + [UInt8(left)]
        }
        let literalNibble = min(literals.count, 15)
        let matchNibble = offset == nil ? 0 : min(match - 4, 15)
        var bytes = [UInt8(literalNibble << 4 | matchNibble)]
        if literalNibble == 15 { bytes += lengthBytes(literals.count - 15) }
        bytes += literals
        guard let offset else { return bytes }
        bytes += [UInt8(offset & 255), UInt8(offset >> 8)]
        if matchNibble == 15 { bytes += lengthBytes(match - 19) }
        return bytes
    }

    /// liblz4's rules at a block's ends, each on both sides of its line: the streamed decoder
    /// must decode and refuse exactly the blocks liblz4 does.
    @Test func lz4BlocksAtTheEdgesOfItsRulesAreDecodedOrRefusedAsLiblz4Does() throws {
        let directory = TemporaryDirectory()
        let abcd = Array("abcd".utf8)
        let tail = { (n: Int) in [UInt8](repeating: 0x7a, count: n) }
        let cases: [(String, [UInt8], Int, Bool)] = [
            // A match must end at least 5 bytes before the output's end.
            ("match ends 5 before the end", Self.lz4Sequence(abcd, offset: 4, match: 20) + Self.lz4Sequence(tail(5)), 29, true),
            ("match ends 4 before the end", Self.lz4Sequence(abcd, offset: 4, match: 21) + Self.lz4Sequence(tail(4)), 29, false),
            // Literals ending within 12 bytes of the output's end make the last sequence.
            ("literals end 11 before the end, then a match", Self.lz4Sequence(abcd, offset: 4, match: 4) + Self.lz4Sequence(tail(7)), 15, false),
            ("literals end 12 before the end, then a match", Self.lz4Sequence(abcd, offset: 4, match: 4) + Self.lz4Sequence(tail(8)), 16, true),
            // The last sequence's literals end the input exactly.
            ("last literals, one byte more in the input", Self.lz4Sequence(tail(6)) + [0], 6, false),
            ("last literals, declared output longer", Self.lz4Sequence(tail(6)), 7, false),
            // A match may not reach before the output's start.
            ("offset past the start", Self.lz4Sequence(abcd, offset: 5, match: 8) + Self.lz4Sequence(tail(20)), 32, false),
            ("offset at the start", Self.lz4Sequence(abcd, offset: 4, match: 8) + Self.lz4Sequence(tail(20)), 32, true),
            // Long literal and match lengths (length bytes of 255).
            ("long lengths", Self.lz4Sequence(tail(600), offset: 1, match: 1_000) + Self.lz4Sequence(tail(300)), 1_900, true),
            // Match length bytes may not run into the input's last 4 bytes.
            ("match length bytes at the end", Self.lz4Sequence(abcd, offset: 4, match: 19 + 255 + 3) + [0x10, 0x7a, 0x7a, 0x7a], 300, false),
        ]
        for (name, block, size, decodes) in cases {
            let whole = BlockDecodingComparison.whole(Compressor.lz4.rawValue, block, decodedSize: size)!
            #expect(whole.isRefused == !decodes, "liblz4 on '\(name)': \(whole.summary)")
            let file = try file(block, in: directory)
            for (input, output) in [(1, 1), (2, 3), (4096, 4096)] {
                let stream = streamed(.lz4, file, count: block.count, size: size, input: input, output: output)
                #expect(stream == whole, "'\(name)' pieces \(input)/\(output): whole \(whole.summary), streamed \(stream.summary)")
            }
        }
        // Offset 0 (no encoder writes it): liblz4 decodes it, the streamed decoder refuses it.
        let zero = Self.lz4Sequence(abcd, offset: 0, match: 4) + Self.lz4Sequence(tail(20))
        let stream = streamed(.lz4, try file(zero, in: directory), count: zero.count, size: 28, input: 7, output: 7)
        #expect(stream == .refused(LZ4BlockStream.zeroOffset.message))
    }

    /// Mutants of valid blocks (flipped, dropped, inserted and overwritten bytes): the streamed
    /// decoder decodes what the whole-block decoder decodes, byte for byte, and refuses what it
    /// refuses (LZ4's offset 0 aside).
    @Test(arguments: compressors)
    func mutantsAreDecodedOrRefusedAlike(_ compressor: Compressor) throws {
        let iterations = ProcessInfo.processInfo.environment["LAKE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 1_500
        var random = SplitMix(state: UInt64(0xb10c) &+ UInt64(Self.compressors.firstIndex(of: compressor)!))
        let directory = TemporaryDirectory()
        let originals = Self.shapes().map { ($0.1.count, Self.encode(Array($0.1.prefix(20_000)), compressor)) }
        var agreedDecoded = 0
        for _ in 0..<iterations {
            let (_, original) = originals.randomElement(using: &random)!
            var block = original
            for _ in 0..<Int.random(in: 1...4, using: &random) where !block.isEmpty {
                let at = Int.random(in: 0..<block.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: block[at] ^= UInt8(1) << UInt8.random(in: 0...7, using: &random)
                case 1: block.remove(at: at)
                case 2: block.insert(UInt8.random(in: 0...255, using: &random), at: at)
                case 3: block[at] = [0, 255, 15, 240].randomElement(using: &random)!
                default: block.removeLast(Int.random(in: 0...min(8, block.count), using: &random))
                }
            }
            let decodedSize = min(20_000, originals[0].0) + [0, 0, 0, -1, 1, -5].randomElement(using: &random)!
            let whole = BlockDecodingComparison.whole(compressor.rawValue, block, decodedSize: decodedSize)!
            let file = try file(block, in: directory)
            let stream = streamed(compressor, file, count: block.count, size: decodedSize,
                                  input: Int.random(in: 1...300, using: &random), output: Int.random(in: 1...5000, using: &random))
            switch (whole, stream) {
            case (.decoded(let a), .decoded(let b)):
                #expect(a == b, "\(compressor): the decoders decoded different bytes")
                agreedDecoded += 1
            case (.refused, .refused): break
            case (.decoded, .refused(let why)) where BlockDecodingComparison.refusalAllowed(why): break
            default:
                Issue.record("\(compressor): whole \(whole.summary), streamed \(stream.summary); block \(block.prefix(64))…")
            }
        }
        // Some mutants (a flipped literal) still decode: the run compared decoded bytes too.
        #expect(compressor == .lzma || agreedDecoded > 0)
    }
}

extension BlockDecodingComparison.Outcome {
    var summary: String {
        switch self {
        case .decoded(let bytes): "decoded \(bytes.count) bytes"
        case .refused(let why): "refused: \(why)"
        }
    }
    var isRefused: Bool { if case .refused = self { true } else { false } }
}
