#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for reading at explicit offsets (`pread`), so one instance can be shared by
/// threads. The descriptor is closed when the last reference goes away.
public final class ReadableFile: @unchecked Sendable {
    public let path: String
    public let descriptor: Int32
    public let size: Int64

    public init(path: String) throws {
        let fd = try Syscall.open(path, O_RDONLY)
        do {
            let info = try Syscall.fileStatus(fd, path: path)
            if (info.st_mode & S_IFMT) == S_IFDIR {
                throw SystemError("open", path: path, errno: EISDIR)
            }
            self.path = path
            self.descriptor = fd
            self.size = Int64(info.st_size)
        } catch {
            Syscall.close(fd)
            throw error
        }
    }

    /// Reads an open file (one without a name, say) through a duplicate of `descriptor`;
    /// `path` names it in errors.
    public init(duplicating descriptor: Int32, path: String) throws {
        let fd = try Syscall.duplicate(descriptor, path: path)
        do {
            let info = try Syscall.fileStatus(fd, path: path)
            self.path = path
            self.descriptor = fd
            self.size = Int64(info.st_size)
        } catch {
            Syscall.close(fd)
            throw error
        }
    }

    deinit { Syscall.close(descriptor) }

    /// Reads up to `buffer.count` bytes at `offset`; returns fewer only at the end of the file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            let n = try Syscall.pread(descriptor, into: slice, offset: offset + Int64(done), path: path)
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads exactly `count` bytes at `offset` into a new array (fewer at the end of the file).
    /// (Not zeroed first: the daemon's READs and read-ahead call this for every piece they hash.)
    public func bytes(at offset: Int64, count: Int) throws -> [UInt8] {
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, read in
            read = try self.read(into: UnsafeMutableRawBufferPointer(buffer), at: offset)
        }
    }

    /// Calls `body` with consecutive chunks of the file from `offset`, reusing one buffer.
    public func forEachChunk(from offset: Int64 = 0, chunkSize: Int = 1 << 20,
                             _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 4096)
        defer { buffer.deallocate() }
        var position = offset
        while true {
            let n = try read(into: buffer, at: position)
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
            position += Int64(n)
        }
    }
}
