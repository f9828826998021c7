import Foundation
import LakeSystem

extension FileHandle {
    /// Everything until end of file, retrying reads a signal interrupted. Foundation's
    /// `readDataToEndOfFile` traps on EINTR, which a test process meets when children it runs
    /// on other threads exit.
    public func readAllRetrying() -> Data {
        ChildProcess.readToEnd(self)
    }
}
