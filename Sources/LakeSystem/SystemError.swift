#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which operation, on which path, and the errno it returned.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let errno: Int32

    public init(_ operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var isNoSpace: Bool { errno == ENOSPC || errno == EDQUOT }
    public var isNotFound: Bool { errno == ENOENT }

    public var description: String {
        let reason = String(cString: strerror(errno))
        return path.isEmpty ? "\(operation): \(reason)" : "\(operation) \(path): \(reason)"
    }
}
