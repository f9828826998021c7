#if canImport(Glibc)
import Glibc
#endif
import LakeSystem

/// Blobs in a local directory: `blobs/ab/cd/<sha256>` (read-only files), uploads in progress in
/// `spool/<session>.part` with a `spool/<session>.lock` held (flock) by the writing process, so a
/// session whose writer died is recognisable and can be discarded.
public final class LocalBlobStore: BlobStore {
    public let root: String
    let blobsDirectory: String
    let spoolDirectory: String
    let guardPath: String

    /// `root` is the store folder; `blobs/` and `spool/` are created inside it when missing.
    public init(root: String) throws {
        self.root = root
        blobsDirectory = Path.join(root, "blobs")
        spoolDirectory = Path.join(root, "spool")
        guardPath = Path.join(spoolDirectory, ".commit-guard")
        try Syscall.makeDirectories(blobsDirectory)
        try Syscall.makeDirectories(spoolDirectory)
    }

    static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 64 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    func folder(of id: String) -> String {
        let hex = Array(id)
        return Path.join(blobsDirectory, String(hex[0..<2]), String(hex[2..<4]))
    }

    func path(of id: String) throws -> String {
        guard Self.isValidID(id) else { throw BlobStoreError.invalidID(id) }
        return Path.join(folder(of: id), id)
    }

    public func beginUpload(session: String) throws -> any BlobUpload {
        do {
            return try LocalBlobUpload(store: self, session: session)
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    public func open(_ id: String) throws -> ReadableFile {
        try ReadableFile(path: path(of: id))
    }

    public func contains(_ id: String) -> Bool {
        guard let path = try? path(of: id) else { return false }
        return (try? Syscall.fileStatus(path)) != nil
    }

    public func size(of id: String) throws -> Int64? {
        try Syscall.fileStatus(path(of: id)).map { Int64($0.st_size) }
    }

    public func delete(_ id: String) throws {
        let path = try path(of: id)
        try Syscall.unlinkIfPresent(path)
        try Syscall.fsyncDirectory(Path.parent(of: path))
    }

    public func allBlobIDs() throws -> [String] {
        var ids: [String] = []
        for first in try Syscall.listDirectory(blobsDirectory) {
            let firstPath = Path.join(blobsDirectory, first)
            guard Syscall.isDirectory(firstPath) else { continue }
            for second in try Syscall.listDirectory(firstPath) {
                let secondPath = Path.join(firstPath, second)
                guard Syscall.isDirectory(secondPath) else { continue }
                ids += try Syscall.listDirectory(secondPath)
            }
        }
        return ids.sorted()
    }

    /// Files under `blobs/` whose names are not blob ids (left by hand, or damage).
    public func strayFiles() throws -> [String] {
        var stray: [String] = []
        for first in try Syscall.listDirectory(blobsDirectory) {
            let firstPath = Path.join(blobsDirectory, first)
            guard Syscall.isDirectory(firstPath) else { stray.append(firstPath); continue }
            for second in try Syscall.listDirectory(firstPath) {
                let secondPath = Path.join(firstPath, second)
                guard Syscall.isDirectory(secondPath) else { stray.append(secondPath); continue }
                for name in try Syscall.listDirectory(secondPath) where !Self.isValidID(name)
                    || !name.hasPrefix(first + second) {
                    stray.append(Path.join(secondPath, name))
                }
            }
        }
        return stray
    }

    public func uri(for id: String) -> String {
        "file://" + Path.join(folder(of: id), id)
    }

    func lockPath(_ session: String) -> String { Path.join(spoolDirectory, session + ".lock") }
    func partPath(_ session: String) -> String { Path.join(spoolDirectory, session + ".part") }

    func hiddenLockPath(_ session: String) -> String { Path.join(spoolDirectory, ".\(session).lock-new") }

    public func isUploadAlive(session: String) -> Bool {
        isHeld(lockPath(session)) || isHeld(hiddenLockPath(session))
    }

    /// Whether some process holds the flock of the file at `path`.
    private func isHeld(_ path: String) -> Bool {
        guard let fd = try? Syscall.open(path, O_RDONLY) else { return false }
        defer { Syscall.close(fd) }
        // If we can take the lock, its holder is gone.
        return !((try? Syscall.tryLock(fd, exclusive: true, path: path)) ?? false)
    }

    public func uploadSessions() throws -> [String] {
        var sessions = Set<String>()
        for name in try Syscall.listDirectory(spoolDirectory) {
            if name.hasPrefix(".") && name.hasSuffix(".lock-new") {
                sessions.insert(String(name.dropFirst().dropLast(9)))
            } else if !name.hasPrefix(".") && (name.hasSuffix(".part") || name.hasSuffix(".lock")) {
                sessions.insert(String(name.dropLast(5)))
            }
        }
        return sessions.sorted()
    }

    public func discardUpload(session: String) throws -> Bool {
        guard !isUploadAlive(session: session) else { return false }
        try Syscall.unlinkIfPresent(partPath(session))
        try Syscall.unlinkIfPresent(lockPath(session))
        try Syscall.unlinkIfPresent(hiddenLockPath(session))
        return true
    }

    public func withCommitGuard<T>(_ body: () throws -> T) throws -> T {
        try withGuard(exclusive: false, body)
    }

    public func withSweepGuard<T>(_ body: () throws -> T) throws -> T {
        try withGuard(exclusive: true, body)
    }

    private func withGuard<T>(exclusive: Bool, _ body: () throws -> T) throws -> T {
        let fd = try Syscall.open(guardPath, O_RDWR | O_CREAT, 0o644)
        defer { Syscall.close(fd) }
        try Syscall.lock(fd, exclusive: exclusive, path: guardPath)
        return try body()
    }
}
