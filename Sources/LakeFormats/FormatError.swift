/// Why a file cannot be read as what it claims to be. The message becomes the object's
/// `failure_reason`, so it says what is wrong and where, in words a person can act on.
public struct FormatError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
