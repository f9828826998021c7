/// Loading one value of a VTK scalar type from bytes in the file's byte order, widened to Double
/// (Int64/UInt64 beyond 2^53 round to nearest, as numpy's astype(float64) does).
protocol ScalarLoading {
    static var size: Int { get }
    static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double
}

enum LoadInt8: ScalarLoading {
    static let size = 1
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        Double(base.load(fromByteOffset: offset, as: Int8.self))
    }
}
enum LoadUInt8: ScalarLoading {
    static let size = 1
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        Double(base.load(fromByteOffset: offset, as: UInt8.self))
    }
}
enum LoadInt16: ScalarLoading {
    static let size = 2
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        let raw = base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return Double(Int16(bitPattern: swap ? raw.byteSwapped : raw))
    }
}
enum LoadUInt16: ScalarLoading {
    static let size = 2
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        let raw = base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)
        return Double(swap ? raw.byteSwapped : raw)
    }
}
enum LoadInt32: ScalarLoading {
    static let size = 4
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        let raw = base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return Double(Int32(bitPattern: swap ? raw.byteSwapped : raw))
    }
}
enum LoadUInt32: ScalarLoading {
    static let size = 4
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        let raw = base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return Double(swap ? raw.byteSwapped : raw)
    }
}
enum LoadInt64: ScalarLoading {
    static let size = 8
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        let raw = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        return Double(Int64(bitPattern: swap ? raw.byteSwapped : raw))
    }
}
enum LoadUInt64: ScalarLoading {
    static let size = 8
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        let raw = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        return Double(swap ? raw.byteSwapped : raw)
    }
}
enum LoadFloat32: ScalarLoading {
    static let size = 4
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        let raw = base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
        return Double(Float(bitPattern: swap ? raw.byteSwapped : raw))
    }
}
enum LoadFloat64: ScalarLoading {
    static let size = 8
    @inline(__always) static func load(_ base: UnsafeRawPointer, _ offset: Int, swap: Bool) -> Double {
        let raw = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
        return Double(bitPattern: swap ? raw.byteSwapped : raw)
    }
}

