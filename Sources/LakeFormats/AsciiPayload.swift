#if canImport(Glibc)
import Glibc
#endif
import LakeSystem

/// An ascii DataArray: whitespace-separated tokens parsed in the declared type (a Float32 token
/// is rounded to float32, an integer token must fit its type) and delivered as native bytes.
struct AsciiPayload: ArrayPayload {
    let file: ReadableFile
    let text: Range<Int64>
    let type: VTKScalarType
    let name: String
    /// Unknown until parsed; the driver checks the delivered size.
    var byteCount: Int64 { -1 }
    var randomAccess: Bool { false }
    var encodedEnd: Int64? { nil }

    func read(_ range: Range<Int64>, budget: ProcessingBudget, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var tokens = TokenReader(file: file, budget: budget, range: text)
        let capacity = 1 << 16
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity * 8, alignment: 8)
        defer { buffer.deallocate() }
        var used = 0
        var index: Int64 = 0
        while let token = try tokens.next() {
            try store(token, at: used, in: buffer, index: index)
            used += type.size
            index += 1
            if used == capacity * type.size {
                try body(UnsafeRawBufferPointer(rebasing: buffer[..<used]))
                used = 0
            }
        }
        if used > 0 { try body(UnsafeRawBufferPointer(rebasing: buffer[..<used])) }
    }

    private func store(_ token: [UInt8], at offset: Int, in buffer: UnsafeMutableRawBufferPointer, index: Int64) throws {
        var text = token
        text.append(0)
        let ok: Bool = text.withUnsafeBufferPointer { raw in
            let start = UnsafeRawPointer(raw.baseAddress!).assumingMemoryBound(to: CChar.self)
            var end: UnsafeMutablePointer<CChar>?
            errno = 0
            switch type {
            case .float32:
                let v = strtof(start, &end)
                buffer.storeBytes(of: v, toByteOffset: offset, as: Float.self)
            case .float64:
                let v = strtod(start, &end)
                buffer.storeBytes(of: v, toByteOffset: offset, as: Double.self)
            case .uint64:
                guard token.first != UInt8(ascii: "-") else { return false }
                let v = strtoull(start, &end, 10)
                buffer.storeBytes(of: UInt64(v), toByteOffset: offset, as: UInt64.self)
            default:
                let v = strtoll(start, &end, 10)
                guard errno == 0, let narrowed = Self.narrow(Int64(v), to: type, buffer, offset) else { return false }
                _ = narrowed
            }
            return errno == 0 && end == UnsafeMutablePointer(mutating: start) + token.count
        }
        guard ok else {
            throw FormatError("ascii DataArray '\(name)': value \(index) '\(String(decoding: token.prefix(40), as: UTF8.self))' is not a valid \(type.rawValue)")
        }
    }

    /// Stores an integer in the declared type; nil when it does not fit.
    static func narrow(_ v: Int64, to type: VTKScalarType, _ buffer: UnsafeMutableRawBufferPointer, _ offset: Int) -> Bool? {
        switch type {
        case .int8: guard let x = Int8(exactly: v) else { return nil }; buffer.storeBytes(of: x, toByteOffset: offset, as: Int8.self)
        case .uint8: guard let x = UInt8(exactly: v) else { return nil }; buffer.storeBytes(of: x, toByteOffset: offset, as: UInt8.self)
        case .int16: guard let x = Int16(exactly: v) else { return nil }; buffer.storeBytes(of: x, toByteOffset: offset, as: Int16.self)
        case .uint16: guard let x = UInt16(exactly: v) else { return nil }; buffer.storeBytes(of: x, toByteOffset: offset, as: UInt16.self)
        case .int32: guard let x = Int32(exactly: v) else { return nil }; buffer.storeBytes(of: x, toByteOffset: offset, as: Int32.self)
        case .uint32: guard let x = UInt32(exactly: v) else { return nil }; buffer.storeBytes(of: x, toByteOffset: offset, as: UInt32.self)
        case .int64: buffer.storeBytes(of: v, toByteOffset: offset, as: Int64.self)
        default: return nil
        }
        return true
    }
}
