import CLZ4
import CLZMA
import CZlib

/// The compressors VTK's XML writers use, decoding one block at a time into a buffer whose
/// size the block header declared, so a corrupt or hostile block can never grow memory.
enum Compressor: String, Sendable {
    case zlib = "vtkZLibDataCompressor"
    case lz4 = "vtkLZ4DataCompressor"
    case lzma = "vtkLZMADataCompressor"

    /// Decompresses `input` into exactly `output.count` bytes; anything else is corruption.
    func decompress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(FormatError) {
        switch self {
        case .zlib: try inflate(input, output)
        case .lz4: try unlz4(input, output)
        case .lzma: try unlzma(input, output)
        }
    }

    private func inflate(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws(FormatError) {
        var produced = uLongf(output.count)
        let status = uncompress(output.baseAddress?.assumingMemoryBound(to: Bytef.self) ?? UnsafeMutablePointer(bitPattern: 1),
                                &produced, input.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(input.count))
        guard status == Z_OK, Int(produced) == output.count else {
            let why = status == Z_BUF_ERROR ? "it inflates to more bytes than its header declares"
                : status == Z_DATA_ERROR ? "the zlib data is corrupt" : "zlib error \(status)"
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

    private func unlzma(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws(FormatError) {
        var memoryLimit: UInt64 = 256 << 20
        var inputPosition = 0
        var outputPosition = 0
        let status = lzma_stream_buffer_decode(&memoryLimit, 0, nil,
                                               input.baseAddress?.assumingMemoryBound(to: UInt8.self), &inputPosition, input.count,
                                               output.baseAddress?.assumingMemoryBound(to: UInt8.self), &outputPosition, output.count)
        guard status == LZMA_OK, outputPosition == output.count, inputPosition == input.count else {
            throw FormatError("a compressed block cannot be decoded: the LZMA data is corrupt or does not match its declared size (status \(status.rawValue))")
        }
    }
}
