import Foundation

/// Damages a file the way a failing disk does: one byte inverted in place (never a byte written
/// over with a fixed value, which leaves the file intact when it held that value already), the
/// file's size and mode kept.
public func flipByte(_ path: String, at offset: UInt64) throws {
    let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? 0o444
    try FileManager.default.setAttributes([.posixPermissions: mode | 0o200], ofItemAtPath: path)
    defer { try? FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path) }
    let handle = try FileHandle(forUpdatingAtPath: path).unwrapped(path)
    defer { try? handle.close() }
    try handle.seek(toOffset: offset)
    guard let byte = try handle.read(upToCount: 1)?.first else { throw CocoaError(.fileReadTooLarge) }
    try handle.seek(toOffset: offset)
    try handle.write(contentsOf: [~byte])
}

extension Optional where Wrapped == FileHandle {
    fileprivate func unwrapped(_ path: String) throws -> FileHandle {
        guard let self else { throw CocoaError(.fileNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
        return self
    }
}
