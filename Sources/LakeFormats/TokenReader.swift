#if canImport(Glibc)
import Glibc
#endif
import LakeSystem

/// Whitespace-separated tokens of a text file, read in chunks so memory stays bounded
/// whatever the file size. Tokens longer than `maxTokenLength` are an error, not a buffer.
struct TokenReader {
    let file: ReadableFile
    let budget: ProcessingBudget
    let chunkSize = 1 << 20
    let maxTokenLength = 4096
    private var buffer: [UInt8] = []
    private var position = 0
    private var fileOffset: Int64 = 0
    private let end: Int64
    private(set) var line = 1

    init(file: ReadableFile, budget: ProcessingBudget, range: Range<Int64>? = nil) {
        self.file = file
        self.budget = budget
        fileOffset = range?.lowerBound ?? 0
        end = range?.upperBound ?? file.size
    }

    private static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || (byte >= 9 && byte <= 13) }

    /// Refills the buffer, keeping unread bytes; false at end of file.
    private mutating func refill() throws -> Bool {
        try budget.check()
        let more = try file.bytes(at: fileOffset, count: Int(min(Int64(chunkSize), end - fileOffset)))
        if more.isEmpty { return false }
        fileOffset += Int64(more.count)
        buffer.removeFirst(position)
        position = 0
        buffer += more
        return true
    }

    /// The next token, or nil at the end of the file.
    mutating func next() throws -> [UInt8]? {
        while true {
            while position < buffer.count, Self.isSpace(buffer[position]) {
                if buffer[position] == 10 { line += 1 }
                position += 1
            }
            if position < buffer.count { break }
            if try !refill() { return nil }
        }
        var end = position
        while true {
            while end < buffer.count, !Self.isSpace(buffer[end]) { end += 1 }
            if end - position > maxTokenLength {
                throw FormatError("line \(line): a token longer than \(maxTokenLength) bytes; this is not a text file of the expected kind")
            }
            if end < buffer.count { break }
            let consumed = end - position
            if try !refill() { end = buffer.count; break }
            end = position + consumed
        }
        let token = Array(buffer[position..<end])
        position = end
        return token
    }

    /// The rest of the current line (for names after a keyword), without the newline.
    mutating func restOfLine() throws -> String {
        var bytes: [UInt8] = []
        while true {
            while position < buffer.count {
                let byte = buffer[position]
                if byte == 10 { return String(decoding: bytes, as: UTF8.self) }
                bytes.append(byte)
                position += 1
                if bytes.count > maxTokenLength {
                    throw FormatError("line \(line): a line longer than \(maxTokenLength) bytes in a header")
                }
            }
            if try !refill() { return String(decoding: bytes, as: UTF8.self) }
        }
    }

    /// Parses a token as a number, or throws naming what was expected.
    static func number(_ token: [UInt8], line: Int, what: String) throws -> Double {
        var text = token
        text.append(0)
        return try text.withUnsafeBufferPointer { raw -> Double in
            let start = UnsafeRawPointer(raw.baseAddress!).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(start, &end)
            guard let end, end == UnsafeMutablePointer(mutating: start) + token.count, !token.isEmpty else {
                throw FormatError("line \(line): expected a number for \(what), found '\(String(decoding: token.prefix(40), as: UTF8.self))'")
            }
            return value
        }
    }
}
