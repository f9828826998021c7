#if canImport(Glibc)
import Glibc
#endif
import Crypto
import LakeModel
import LakeSystem
import Synchronization

/// How blob files are spread over folders. Stores made since format version 2 keep every blob in
/// one of 256 folders made with the store (`blobs/ab/<sha256>`): a folder made per new blob, as
/// the older two-level layout (`blobs/ab/cd/<sha256>`, 65,536 folders) does until all exist, cost
/// a small upload about a third of its time. ext4 indexes large folders, so 256 suffice.
public enum BlobLayout: Sendable {
    case twoLevel
    case oneLevel
}

/// Blobs in a local directory: `blobs/ab/<sha256>` (read-only files; see `BlobLayout`), uploads in progress in
/// `spool/<session>@<owner>.part`, where `spool/<owner>.owner` is held (flock) by the writing
/// process for as long as it has the store open, so a session whose writer died is recognisable
/// and can be discarded. (One lock per process, not per upload: creating, renaming and removing a
/// lock file cost more than storing a small file.)
public final class LocalBlobStore: BlobStore {
    public let root: String
    public let layout: BlobLayout
    let blobsDirectory: String
    let spoolDirectory: String
    let guardPath: String
    /// This process's owner lock, made at its first upload.
    private let owner = Mutex<(name: String, fd: Int32)?>(nil)
    /// The commit guard, held shared while any thread of this process commits.
    private let commitGuard = Mutex<(fd: Int32, holders: Int)>((-1, 0))

    /// `root` is the store folder; `blobs/` and `spool/` are created inside it when missing.
    public init(root: String, layout: BlobLayout) throws {
        self.root = root
        self.layout = layout
        blobsDirectory = Path.join(root, "blobs")
        spoolDirectory = Path.join(root, "spool")
        guardPath = Path.join(spoolDirectory, ".commit-guard")
        try Syscall.makeDirectories(blobsDirectory)
        try Syscall.makeDirectories(spoolDirectory)
        discardDeadOwners()
    }

    static func isValidID(_ id: String) -> Bool {
        id.utf8.count == 64 && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// Makes the folders of a new store's blobs (all of them, for the one-level layout), synced.
    public func makeFolders() throws {
        guard layout == .oneLevel else { return }
        do {
            for byte in 0..<256 {
                let name = String(byte, radix: 16)
                try Syscall.makeDirectories(Path.join(blobsDirectory, byte < 16 ? "0" + name : name))
            }
            try Syscall.fsyncDirectory(blobsDirectory)
            try Syscall.fsyncDirectory(root)
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    func folder(of id: String) -> String {
        // Bytes, not Characters: an id is ASCII hex, and splitting its 64 characters into
        // graphemes cost more than the rest of a daemon's open of a small file (perf).
        let bytes = id.utf8
        let first = String(decoding: bytes.prefix(2), as: UTF8.self)
        switch layout {
        case .oneLevel: return Path.join(blobsDirectory, first)
        case .twoLevel: return Path.join(blobsDirectory, first, String(decoding: bytes.dropFirst(2).prefix(2), as: UTF8.self))
        }
    }

    /// Gives the file at `path` the blob name `id` as a second link; false when the blob is
    /// stored already. The folder is made only when the link finds it missing (once per folder
    /// in a two-level store; never in a one-level one), not looked for before every link.
    func link(_ path: String, as id: String) throws -> Bool {
        let target = Path.join(folder(of: id), id)
        do {
            return try Syscall.link(path, target)
        } catch let error as SystemError where error.errno == ENOENT && !Syscall.isDirectory(folder(of: id)) {
            try makeFolder(folder(of: id))
            return try Syscall.link(path, target)
        }
    }

    /// Where the blob `id` lives (whether or not it is there).
    public func filePath(of id: String) throws -> String { try path(of: id) }

    /// Gives the whole, verified file at `path` the blob name `id` and removes `path`; false when
    /// the blob was there already (a node cache filling itself from elsewhere).
    @discardableResult
    public func adopt(_ path: String, as id: String) throws -> Bool {
        guard Self.isValidID(id) else { throw BlobStoreError.invalidID(id) }
        defer { try? Syscall.unlinkIfPresent(path) }
        do { return try link(path, as: id) } catch { throw BlobStoreError.wrap(error) }
    }

    /// Makes `folder` (a blob's, missing) and records it durably in its parents.
    func makeFolder(_ folder: String) throws {
        try Syscall.makeDirectories(folder)
        var parent = Path.parent(of: folder)
        while parent.count >= blobsDirectory.count {
            try Syscall.fsyncDirectory(parent)
            parent = Path.parent(of: parent)
        }
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
        try forEachBlobFolder { prefix, folder in
            ids += try Syscall.listDirectory(folder).filter { Self.isValidID($0) && $0.hasPrefix(prefix) }
        } stray: { _ in }
        return ids.sorted()
    }

    /// Files under `blobs/` whose names are not blob ids (left by hand, or damage).
    public func strayFiles() throws -> [String] {
        var stray: [String] = []
        try forEachBlobFolder { prefix, folder in
            for name in try Syscall.listDirectory(folder) where !Self.isValidID(name) || !name.hasPrefix(prefix) {
                stray.append(Path.join(folder, name))
            }
        } stray: { stray.append($0) }
        return stray
    }

    /// Calls `body` with each folder that holds blobs (and the hex prefix its blobs' names share),
    /// and `stray` with each file where a folder should be.
    private func forEachBlobFolder(_ body: (String, String) throws -> Void, stray: (String) -> Void) throws {
        for first in try Syscall.listDirectory(blobsDirectory) {
            let firstPath = Path.join(blobsDirectory, first)
            guard Syscall.isDirectory(firstPath) else { stray(firstPath); continue }
            guard layout == .twoLevel else { try body(first, firstPath); continue }
            for second in try Syscall.listDirectory(firstPath) {
                let secondPath = Path.join(firstPath, second)
                guard Syscall.isDirectory(secondPath) else { stray(secondPath); continue }
                try body(first + second, secondPath)
            }
        }
    }

    public func uri(for id: String) -> String {
        "file://" + Path.join(folder(of: id), id)
    }

    deinit {
        if let (name, fd) = owner.withLock({ $0 }) {
            OwnerFiles.forget(ownerPath(name))
            try? Syscall.unlinkIfPresent(ownerPath(name))
            Syscall.close(fd)
        }
        let guardFD = commitGuard.withLock { $0.fd }
        if guardFD >= 0 { Syscall.close(guardFD) }
    }

    /// This process's owner name; its lock file is created under a hidden name, locked, and only
    /// then renamed into view, so every visible owner file is held from birth.
    func ownerName() throws -> String {
        try owner.withLock { current in
            if let current { return current.name }
            let name = "own-" + (0..<4).map { _ in String(UInt32.random(in: 0...UInt32.max), radix: 16) }.joined()
            let hidden = hiddenOwnerPath(name)
            let fd = try Syscall.open(hidden, O_RDWR | O_CREAT | O_EXCL, 0o600)
            do {
                guard try Syscall.tryLock(fd, exclusive: true, path: hidden) else {
                    throw SystemError("flock", path: hidden, errno: EWOULDBLOCK)
                }
                try Syscall.rename(hidden, ownerPath(name))
                OwnerFiles.removeAtExit(ownerPath(name))
            } catch {
                Syscall.close(fd)
                try? Syscall.unlinkIfPresent(hidden)
                throw error
            }
            current = (name, fd)
            return name
        }
    }

    func ownerPath(_ owner: String) -> String { Path.join(spoolDirectory, owner + ".owner") }
    func hiddenOwnerPath(_ owner: String) -> String { Path.join(spoolDirectory, ".\(owner).owner-new") }
    func partPath(_ session: String, owner: String) -> String { Path.join(spoolDirectory, "\(session)@\(owner).part") }

    /// Lock and part files of the per-upload layout earlier versions wrote.
    func lockPath(_ session: String) -> String { Path.join(spoolDirectory, session + ".lock") }
    func legacyPartPath(_ session: String) -> String { Path.join(spoolDirectory, session + ".part") }
    func hiddenLockPath(_ session: String) -> String { Path.join(spoolDirectory, ".\(session).lock-new") }

    /// Removes the owner files (and half-written restores) of processes that ended without
    /// removing them (killed). A hidden owner file may be a live process's between its creation
    /// and its lock: trying its lock then would make that process fail, so only hidden files a
    /// minute old are looked at.
    private func discardDeadOwners() {
        let minuteAgo = Timestamp.now.adding(seconds: -60).microseconds
        func isOld(_ name: String) -> Bool {
            guard let info = try? Syscall.fileStatus(Path.join(spoolDirectory, name)) else { return false }
            return Int64(info.st_mtim.tv_sec) * 1_000_000 < minuteAgo
        }
        for name in (try? Syscall.listDirectory(spoolDirectory)) ?? [] {
            if name.hasPrefix(".restore-") {
                // A blob being written back (`restore`) when its process died.
                if isOld(name) { try? Syscall.unlinkIfPresent(Path.join(spoolDirectory, name)) }
                continue
            }
            let owner: String
            if name.hasPrefix(".") && name.hasSuffix(".owner-new") {
                guard isOld(name) else { continue }
                owner = String(name.dropFirst().dropLast(10))
            } else if !name.hasPrefix(".") && name.hasSuffix(".owner") {
                owner = String(name.dropLast(6))
                // Visible owner files are locked before they are renamed into view.
                guard !isHeld(ownerPath(owner)) else { continue }
            } else {
                continue
            }
            try? Syscall.unlinkIfPresent(ownerPath(owner))
            try? Syscall.unlinkIfPresent(hiddenOwnerPath(owner))
        }
    }

    /// The owners of `session`'s part files.
    private func owners(of session: String) -> [String] {
        let prefix = session + "@"
        return ((try? Syscall.listDirectory(spoolDirectory)) ?? []).compactMap { name in
            guard name.hasPrefix(prefix), name.hasSuffix(".part") else { return nil }
            return String(name.dropFirst(prefix.count).dropLast(5))
        }
    }

    /// Part files are created only once their owner file is locked and in view.
    private func isOwnerAlive(_ owner: String) -> Bool {
        isHeld(ownerPath(owner))
    }

    public func isUploadAlive(session: String) -> Bool {
        isHeld(lockPath(session)) || isHeld(hiddenLockPath(session)) || owners(of: session).contains(where: isOwnerAlive)
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
                let session = name.dropLast(5)
                sessions.insert(String(session.split(separator: "@", maxSplits: 1).first ?? session))
            }
        }
        return sessions.sorted()
    }

    public func discardUpload(session: String) throws -> Bool {
        guard !isUploadAlive(session: session) else { return false }
        for owner in owners(of: session) { try Syscall.unlinkIfPresent(partPath(session, owner: owner)) }
        try Syscall.unlinkIfPresent(legacyPartPath(session))
        try Syscall.unlinkIfPresent(lockPath(session))
        try Syscall.unlinkIfPresent(hiddenLockPath(session))
        return true
    }

    /// A part file linked as a blob has a second name (commit links it, release removes the
    /// part's name); whether that name is the blob's is known by hashing the part.
    public func blobStored(byAbandoned session: String) -> String? {
        guard !isUploadAlive(session: session) else { return nil }
        for owner in owners(of: session) {
            let part = partPath(session, owner: owner)
            guard let info = try? Syscall.fileStatus(part), info.st_nlink > 1,
                  let file = try? ReadableFile(path: part) else { continue }
            var sha = SHA256()
            guard (try? file.forEachChunk(chunkSize: 4 << 20, { sha.update(bufferPointer: $0) })) != nil else { continue }
            let id = Digest.hex(sha.finalize())
            if let blob = try? Syscall.fileStatus(path(of: id)), blob.st_ino == info.st_ino, blob.st_dev == info.st_dev {
                return id
            }
        }
        return nil
    }

    public func settle() throws {
        do { try Syscall.syncFilesystem(blobsDirectory) } catch { throw BlobStoreError.wrap(error) }
    }

    public func syncStored(_ id: String) throws {
        let target = try path(of: id)
        do {
            let fd = try Syscall.open(target, O_RDONLY)
            defer { Syscall.close(fd) }
            try Syscall.fdatasync(fd, path: target)
            try Syscall.fsyncDirectory(folder(of: id))
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    public func restore(_ id: String, bytes: [UInt8]) throws -> Bool {
        let target = try path(of: id)
        do {
            let intact = check(id, expectedSize: Int64(bytes.count)) == .intact
            if intact {
                let fd = try Syscall.open(target, O_RDONLY)
                defer { Syscall.close(fd) }
                try Syscall.fsync(fd, path: target)
            } else {
                let folder = folder(of: id)
                if !Syscall.isDirectory(folder) { try makeFolder(folder) }
                let temporary = Path.join(spoolDirectory, ".restore-\(id)")
                // One a killed restore left is read-only: made anew, not opened for writing.
                try Syscall.unlinkIfPresent(temporary)
                let fd = try Syscall.open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o444)
                do {
                    try bytes.withUnsafeBytes { try Syscall.pwriteAll(fd, $0, offset: 0, path: temporary) }
                    try Syscall.fsync(fd, path: temporary)
                } catch {
                    Syscall.close(fd)
                    try? Syscall.unlinkIfPresent(temporary)
                    throw error
                }
                Syscall.close(fd)
                try Syscall.rename(temporary, target)
            }
            try Syscall.fsyncDirectory(Path.parent(of: target))
            return !intact
        } catch {
            throw BlobStoreError.wrap(error)
        }
    }

    /// Shared by every committing thread of this process: the lock is taken when the first
    /// enters and given back when the last leaves, on one descriptor kept open.
    public func withCommitGuard<T>(_ body: () throws -> T) throws -> T {
        try commitGuard.withLock { state in
            if state.fd < 0 { state.fd = try Syscall.open(guardPath, O_RDWR | O_CREAT, 0o644) }
            if state.holders == 0 { try Syscall.lock(state.fd, exclusive: false, path: guardPath) }
            state.holders += 1
        }
        defer {
            commitGuard.withLock { state in
                state.holders -= 1
                if state.holders == 0 { Syscall.unlock(state.fd) }
            }
        }
        return try body()
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

/// Owner files of this process, removed when it exits normally (`exit`, the end of `main`); a
/// killed process leaves its file to the next process that opens the store.
enum OwnerFiles {
    private static let paths = Mutex<Set<String>>([])
    private static let registered = Mutex(false)

    static func removeAtExit(_ path: String) {
        paths.withLock { _ = $0.insert(path) }
        registered.withLock { done in
            guard !done else { return }
            done = true
            atexit {
                for path in OwnerFiles.paths.withLock({ $0 }) { unlink(path) }
            }
        }
    }

    static func forget(_ path: String) {
        paths.withLock { _ = $0.remove(path) }
    }
}
