import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension FileHandle {
    /// Everything until end of file, retrying reads a signal interrupted. Foundation's
    /// `readDataToEndOfFile` traps on EINTR, which a test process meets when children it runs
    /// on other threads exit.
    public func readAllRetrying() -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fileDescriptor, $0.baseAddress, $0.count) }
            if count > 0 { data.append(contentsOf: buffer[..<count]); continue }
            if count < 0 && errno == EINTR { continue }
            return data
        }
    }
}
