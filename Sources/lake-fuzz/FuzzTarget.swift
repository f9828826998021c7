#if canImport(Glibc)
import Glibc
#endif
import CFuzzDriver
import LakeFormats
import LakeModel
import LakeSystem

/// Coverage-guided fuzzing of Lake's parsers of untrusted bytes with libFuzzer:
///
///     swift build -c release --product lake-fuzz -Xswiftc -sanitize=fuzzer,address \
///         -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
///     LAKE_FUZZ_FORMAT=vtu .build/release/lake-fuzz CORPUS_DIR Tests/Fixtures/vtk -max_total_time=600
///
/// LAKE_FUZZ_FORMAT picks the reader: vtu (default), vtp, vtm, stl, or sidecar (the metadata of
/// a file dropped into incoming/: a `.lake.json` sidecar and each `user.lake.*` xattr). Every input must be read or
/// refused with an error; a crash, a trap or an AddressSanitizer report is a bug (libFuzzer
/// writes the input to crash-…; it becomes a fixture). An ordinary build says how to build it.
///
/// zlib-stream, lz4-stream and lzma-stream compare the two decoders of a compressed block
/// (whole, and streamed as blocks over 4 MiB are): an input is two bytes of piece sizes, three of
/// declared size, then the block (`Tests/Fixtures/blocks/make_block_seeds.py` writes seeds). A
/// difference in what they decode or refuse is a trap.
enum Target {
    static let name = getenv("LAKE_FUZZ_FORMAT").map { String(cString: $0) }
    static let format: FileFormat = name.flatMap(FileFormat.init(rawValue:)) ?? .vtu

    /// One unnamed file rewritten for every input (in /dev/shm: memory): the readers take files.
    static let descriptor: Int32 = (try? Syscall.openUnnamed(in: "/dev/shm")) ?? (try? Syscall.openUnnamed(in: "/tmp")) ?? -1

    static func run(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        if let compressor = streamCompressors[name ?? ""] {
            compareDecoders(compressor, data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        }
        if name == "sidecar" {
            let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
            _ = try? ObjectMetadata(sidecar: bytes)
            for key in ObjectMetadata.xattrKeys.keys { _ = try? ObjectMetadata(xattr: key, value: bytes) }
            return 0
        }
        guard descriptor >= 0 else { return 0 }
        _ = ftruncate(descriptor, 0)
        if let data, size > 0 { _ = pwrite(descriptor, data, size, 0) }
        guard let file = try? ReadableFile(duplicating: descriptor, path: "fuzz-input.\(format.rawValue)") else { return 0 }
        let budget = ProcessingBudget(limitSeconds: 10)
        switch format {
        case .vtm: _ = try? VTKManifest.references(of: file, budget: budget)
        case .stl: _ = try? STLReader.geometry(of: file, units: "mm", budget: budget)
        default: _ = try? VTKDatasetReader.fields(of: file, format: format, budget: budget)
        }
        return 0
    }

    static let streamCompressors = ["zlib-stream": "vtkZLibDataCompressor", "lz4-stream": "vtkLZ4DataCompressor",
                                    "lzma-stream": "vtkLZMADataCompressor"]

    static func compareDecoders(_ compressor: String, _ input: [UInt8]) {
        guard input.count >= 5, descriptor >= 0 else { return }
        let inputPiece = 1 + Int(input[0] & 63)
        let outputPiece = 1 + Int(input[1]) * 16
        let decodedSize = Int(input[2]) | Int(input[3]) << 8 | Int(input[4] & 15) << 16
        let block = Array(input[5...])
        _ = ftruncate(descriptor, 0)
        block.withUnsafeBytes { _ = pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard decodedSize > 0, let file = try? ReadableFile(duplicating: descriptor, path: "fuzz-block"),
              let whole = BlockDecodingComparison.whole(compressor, block, decodedSize: decodedSize),
              let streamed = BlockDecodingComparison.streamed(compressor, file: file, range: 0..<Int64(block.count), decodedSize: decodedSize,
                                                              inputPiece: inputPiece, outputPiece: outputPiece) else { return }
        switch (whole, streamed) {
        case (.decoded(let a), .decoded(let b)) where a == b: return
        case (.refused, .refused): return
        case (.decoded, .refused(let why)) where BlockDecodingComparison.refusalAllowed(why): return
        default:
            fatalError("the decoders differ (input piece \(inputPiece), output piece \(outputPiece), size \(decodedSize)): "
                + "whole \(describe(whole)), streamed \(describe(streamed))")
        }
    }

    static func describe(_ outcome: BlockDecodingComparison.Outcome) -> String {
        switch outcome {
        case .decoded(let bytes): "decoded \(bytes.count) bytes"
        case .refused(let why): "refused: \(why)"
        }
    }
}
