#if canImport(Glibc)
import Glibc
#endif
import LakeCore

/// What a filesystem operation can fail with. `errno` is the one place where Lake's errors
/// become POSIX error numbers; the FUSE adapter only passes the number on.
public enum FSError: Error, Equatable, Sendable, CustomStringConvertible {
    case notFound
    case readOnly
    case notDirectory
    case isDirectory
    case noAttribute
    case attributeTooLarge
    case exists
    case notEmpty
    case invalid
    case noSpace
    case io(String)
    /// A read found the bytes of a blob's copy damaged (an I/O error to the reader).
    case damaged(String)
    case unsupported
    /// A namespace of xattrs the lake does not hold (security labels, ACLs).
    case namespaceUnsupported
    /// An operation this mount never needs: the kernel stops asking for it (OPENDIR on a
    /// dataset mount, whose folders never change).
    case notNeeded
    /// Not allowed for anyone, root included (giving an object to another owner).
    case notPermitted
    /// The account's quota is used up.
    case quotaExceeded

    /// What a person reads: the message of an I/O failure, else the system's words for the errno.
    public var description: String {
        if case .io(let message) = self { return message }
        if case .damaged(let message) = self { return message }
        return String(cString: strerror(errno))
    }

    public var errno: Int32 {
        switch self {
        case .notFound: ENOENT
        case .readOnly: EROFS
        case .notDirectory: ENOTDIR
        case .isDirectory: EISDIR
        case .noAttribute: ENODATA
        case .attributeTooLarge: ERANGE
        case .exists: EEXIST
        case .notEmpty: ENOTEMPTY
        case .invalid: EINVAL
        case .noSpace: ENOSPC
        case .io, .damaged: EIO
        case .unsupported, .namespaceUnsupported: ENOTSUP
        case .notNeeded: ENOSYS
        case .notPermitted: EPERM
        case .quotaExceeded: EDQUOT
        }
    }

    /// Maps errors from the layers below; anything unexpected is an I/O error.
    public static func from(_ error: any Error) -> FSError {
        if let error = error as? FSError { return error }
        if let error = error as? IncomingError { return from(error) }
        switch StoreFailure.kind(of: error) {
        case .noSpace: return .noSpace
        case .notFound: return .notFound
        case .other: return .io("\(error)")
        }
    }

    static func from(_ error: IncomingError) -> FSError {
        switch error {
        case .notFound: .notFound
        case .exists: .exists
        case .isDirectory: .isDirectory
        case .notDirectory: .notDirectory
        case .notEmpty: .notEmpty
        case .invalidName: .invalid
        case .unsupported: .unsupported
        case .noSpace: .noSpace
        case .quotaExceeded: .quotaExceeded
        case .invalidMetadata: .invalid
        case .metadataRefused: .notPermitted
        case .failed(let reason): .io(reason)
        }
    }
}
