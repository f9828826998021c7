import LakeSystem

/// One compressed block decoded both ways — whole, as blocks up to `BlockPayload.wholeBlockLimit`
/// are, and as a stream with the given piece sizes — for the differential fuzz targets and
/// tests: both must decode the same bytes or both refuse.
public enum BlockDecodingComparison {
    public enum Outcome: Equatable, Sendable {
        case decoded([UInt8])
        case refused(String)
    }

    /// nil when `compressor` is not one of VTK's compressor names.
    public static func whole(_ compressor: String, _ compressed: [UInt8], decodedSize: Int) -> Outcome? {
        guard let compressor = Compressor(rawValue: compressor) else { return nil }
        var output = [UInt8](repeating: 0, count: decodedSize)
        do {
            try compressed.withUnsafeBytes { input in
                try output.withUnsafeMutableBytes { try compressor.decompress(input, into: $0, state: BlockDecoding()) }
            }
            return .decoded(output)
        } catch let error as FormatError {
            return .refused(error.message)
        } catch {
            return .refused("\(error)")
        }
    }

    /// The block is the bytes of `file` in `range`.
    public static func streamed(_ compressor: String, file: ReadableFile, range: Range<Int64>, decodedSize: Int,
                                inputPiece: Int, outputPiece: Int) -> Outcome? {
        guard let compressor = Compressor(rawValue: compressor) else { return nil }
        let stream = StreamedBlock(compressor: compressor, source: .file(file, start: 0), compressed: range,
                                   decodedSize: Int64(decodedSize), inputPiece: inputPiece, outputPiece: outputPiece)
        var output: [UInt8] = []
        do {
            try stream.decode(budget: .unlimited) { piece in
                output += piece
                return true
            }
            return .decoded(output)
        } catch let error as FormatError {
            return .refused(error.message)
        } catch {
            return .refused("\(error)")
        }
    }

    /// The one refusal allowed where the whole-block decoder decodes (see `LZ4BlockStream`).
    public static func refusalAllowed(_ message: String) -> Bool {
        message == LZ4BlockStream.zeroOffset.message
    }
}
