import CLZ4
import CLZMA
import CLibDeflate

/// The compressors VTK's XML writers use, decoding one block at a time into a buffer whose
/// size the block header declared, so a corrupt or hostile block can never grow memory.
enum Compressor: String, Sendable {
    case zlib = "vtkZLibDataCompressor"
    case lz4 = "vtkLZ4DataCompressor"
    case lzma = "vtkLZMADataCompressor"

    /// Decompresses `input` into exactly `output.count` bytes; anything else is corruption.
    /// `state` carries what decoding one block after another reuses (libdeflate's tables).
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, state: BlockDecoding) throws(FormatError) {
        switch self {
        case .zlib: try inflate(input, output, state)
        case .lz4: try unlz4(input, output)
        case .lzma: try unlzma(input, output)
        }
    }

    /// libdeflate rather than zlib's `uncompress`: a block's whole input and output are in
    /// memory, which is all libdeflate needs, and it decodes them in about half the time. It
    /// checks the stream's Adler-32 as zlib does.
    private func inflate(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer, _ state: BlockDecoding) throws(FormatError) {
        let decompressor = try state.deflate()
        var produced = 0
        let status = libdeflate_zlib_decompress(decompressor, input.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, input.count,
                                                output.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!, output.count, &produced)
        guard status == LIBDEFLATE_SUCCESS, produced == output.count else {
            let why = status == LIBDEFLATE_INSUFFICIENT_SPACE ? "it inflates to more bytes than its header declares"
                : status == LIBDEFLATE_BAD_DATA ? "the zlib data is corrupt"
                : status == LIBDEFLATE_SUCCESS ? "it inflates to \(produced) bytes where its header declares \(output.count)"
                : "libdeflate error \(status.rawValue)"
            throw FormatError("a compressed block cannot be decoded: \(why)")
        }
    }

    private func unlz4(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws(FormatError) {
        guard input.count <= Int(Int32.max), output.count <= Int(Int32.max) else {
            throw FormatError("an LZ4 block is larger than LZ4 allows")
        }
        let produced = LZ4_decompress_safe(input.baseAddress?.assumingMemoryBound(to: CChar.self),
                                           output.baseAddress?.assumingMemoryBound(to: CChar.self),
                                           Int32(input.count), Int32(output.count))
        guard produced == Int32(output.count) else {
            throw FormatError("a compressed block cannot be decoded: the LZ4 data is corrupt or does not match its declared size")
        }
    }

    /// Most memory an LZMA block may ask for to be decoded (its dictionary, whatever the block's
    /// size): `xz -9`, the largest preset, needs 65 MiB.
    static let lzmaMemoryLimit: UInt64 = 80 << 20
    static let lzmaMemoryRefusal = FormatError("a compressed block cannot be decoded: its LZMA data asks for more than "
        + "\(lzmaMemoryLimit >> 20) MiB of memory to decode (the largest preset, xz -9, asks for 65 MiB)")

    private func unlzma(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws(FormatError) {
        var memoryLimit = Self.lzmaMemoryLimit
        var inputPosition = 0
        var outputPosition = 0
        let status = lzma_stream_buffer_decode(&memoryLimit, 0, nil,
                                               input.baseAddress?.assumingMemoryBound(to: UInt8.self), &inputPosition, input.count,
                                               output.baseAddress?.assumingMemoryBound(to: UInt8.self), &outputPosition, output.count)
        guard status != LZMA_MEMLIMIT_ERROR else { throw Self.lzmaMemoryRefusal }
        guard status == LZMA_OK, outputPosition == output.count, inputPosition == input.count else {
            throw FormatError("a compressed block cannot be decoded: the LZMA data is corrupt or does not match its declared size (status \(status.rawValue))")
        }
    }
}

/// What one reader reuses from block to block: libdeflate's decompressor (several KiB, set up
/// once instead of allocated and freed for every 32 KiB block). One per reading thread.
final class BlockDecoding {
    private var decompressor: OpaquePointer?

    func deflate() throws(FormatError) -> OpaquePointer {
        if let decompressor { return decompressor }
        guard let made = libdeflate_alloc_decompressor() else { throw FormatError("out of memory to decode a compressed block") }
        decompressor = made
        return made
    }

    deinit {
        if let decompressor { libdeflate_free_decompressor(decompressor) }
    }
}
