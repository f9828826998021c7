#if canImport(Glibc)
import Glibc
#endif
import LakeSystem

/// Forward reading of a file through a window buffer, with absolute offsets, so a scanner can
/// walk a multi-GB file in bounded memory.
struct ByteCursor {
    let file: ReadableFile
    private var window: [UInt8] = []
    private var windowStart: Int64 = 0
    private var index = 0
    let windowSize: Int

    init(file: ReadableFile, at offset: Int64 = 0, windowSize: Int = 1 << 20) {
        self.file = file
        self.windowSize = windowSize
        windowStart = offset
    }

    var offset: Int64 { windowStart + Int64(index) }
    var atEnd: Bool { offset >= file.size }

    /// Makes at least `count` bytes available from the current position (fewer at end of file).
    private mutating func ensure(_ count: Int) throws {
        if index + count <= window.count { return }
        let start = offset
        window = try file.bytes(at: start, count: max(windowSize, count))
        windowStart = start
        index = 0
    }

    mutating func peek() throws -> UInt8? {
        try ensure(1)
        return index < window.count ? window[index] : nil
    }

    mutating func peek(_ count: Int) throws -> ArraySlice<UInt8> {
        try ensure(count)
        return window[index..<min(window.count, index + count)]
    }

    mutating func next() throws -> UInt8? {
        guard let byte = try peek() else { return nil }
        index += 1
        return byte
    }

    mutating func skip(_ count: Int) throws {
        try ensure(count)
        index = min(window.count, index + count)
    }

    mutating func seek(to absolute: Int64) {
        if absolute >= windowStart && absolute <= windowStart + Int64(window.count) {
            index = Int(absolute - windowStart)
        } else {
            window = []
            windowStart = absolute
            index = 0
        }
    }

    mutating func startsWith(_ text: String) throws -> Bool {
        let bytes = Array(text.utf8)
        return try peek(bytes.count).elementsEqual(bytes)
    }

    /// Advances to the next occurrence of `byte` (not consuming it); false at end of file.
    mutating func advance(to byte: UInt8) throws -> Bool {
        while true {
            try ensure(1)
            if index >= window.count { return false }
            let found = window[index...].withContiguousStorageIfAvailable { buffer -> Int? in
                guard let base = buffer.baseAddress, let hit = memchr(base, Int32(byte), buffer.count) else { return nil }
                return UnsafeRawPointer(hit) - UnsafeRawPointer(base)
            } ?? nil
            if let found {
                index += found
                return true
            }
            index = window.count
        }
    }

    /// Advances past the next occurrence of `text`; false at end of file.
    mutating func advance(past text: String) throws -> Bool {
        let bytes = Array(text.utf8)
        while try advance(to: bytes[0]) {
            if try startsWith(text) {
                try skip(bytes.count)
                return true
            }
            try skip(1)
        }
        return false
    }
}
