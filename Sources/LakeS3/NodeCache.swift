import Foundation
import LakeBlobStore
import LakeSystem
import Synchronization

/// A node's folder of whole blobs from the bucket (and its upload spool): a `LocalBlobStore`
/// whose `blobs/` only ever holds files whose SHA-256 was their name when they were given it.
/// It keeps under `maximumBytes` and leaves `minimumFreeFraction` of its disk free, dropping the
/// least recently used blobs first (a dropped file a reader still has open stays readable: Linux
/// frees it at the last close). What it holds survives restarts: its index is rebuilt from the
/// folder, the last use from each file's modification time, which a use sets again at most once
/// a minute.
public final class NodeCache: Sendable {
    public let local: LocalBlobStore
    public let maximumBytes: Int64
    public let minimumFreeFraction: Double
    let fetching: String

    /// `lastUse` in nanoseconds (distinct for uses in one second); `persisted` is when the
    /// file's modification time last recorded a use, in seconds.
    private struct Entry { var size: Int64; var lastUse: Int64; var persisted: Int64 }
    private struct State {
        var entries: [String: Entry] = [:]
        var bytes: Int64 = 0
    }
    private let state = Mutex(State())

    public init(root: String, maximumBytes: Int64, minimumFreeFraction: Double = 0.05) throws {
        local = try LocalBlobStore(root: root, layout: .oneLevel)
        try local.makeFolders()
        self.maximumBytes = maximumBytes
        self.minimumFreeFraction = minimumFreeFraction
        fetching = Path.join(root, "fetching")
        try Syscall.makeDirectories(fetching)
        // Half-fetched files of a process that died.
        for name in (try? Syscall.listDirectory(fetching)) ?? [] { try? Syscall.unlinkIfPresent(Path.join(fetching, name)) }
        var found = State()
        for id in try local.allBlobIDs() {
            guard let info = try Syscall.fileStatus(try local.filePath(of: id)) else { continue }
            found.entries[id] = Entry(size: Int64(info.st_size), lastUse: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
                                      persisted: Int64(info.st_mtim.tv_sec))
            found.bytes += Int64(info.st_size)
        }
        state.withLock { $0 = found }
    }

    public var bytes: Int64 { state.withLock { $0.bytes } }
    public var count: Int { state.withLock { $0.entries.count } }

    public func contains(_ id: String) -> Bool { state.withLock { $0.entries[id] != nil } }

    /// The cached file, or nil when the cache does not hold it.
    public func open(_ id: String) -> ReadableFile? {
        guard contains(id), let path = try? local.filePath(of: id) else { return nil }
        guard let file = try? ReadableFile(path: path) else {
            // Gone from the folder behind the cache's back.
            forget(id)
            return nil
        }
        touch(id, path: path)
        return file
    }

    /// Fills the cache with `id`: `write` writes its `size` bytes into a hidden file (and throws
    /// when they are not the blob's); only then, synced and read-only, does the file get the
    /// blob's name. Room is made first.
    public func admit(_ id: String, size: Int64, write: (ReadableFile) throws -> Void) throws {
        makeRoom(for: size)
        let path = Path.join(fetching, "\(id).\(UInt32.random(in: 0...UInt32.max))")
        let fd = try Syscall.open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        do {
            let file = try ReadableFile(duplicating: fd, path: path)
            try write(file)
            try Syscall.fdatasync(fd, path: path)
            try Syscall.chmod(fd, 0o444, path: path)
            Syscall.close(fd)
        } catch {
            Syscall.close(fd)
            try? Syscall.unlinkIfPresent(path)
            throw error
        }
        try local.adopt(path, as: id)
        noteAdmitted(id, size: size)
    }

    /// Records a blob given its name in the cache's folder by an upload on this node.
    public func noteAdmitted(_ id: String, size: Int64) {
        let now = Self.now()
        let added = state.withLock { state -> Bool in
            guard state.entries[id] == nil else { return false }
            state.entries[id] = Entry(size: size, lastUse: now, persisted: now / 1_000_000_000)
            state.bytes += size
            return true
        }
        if added { makeRoom(for: 0, keeping: id) }
    }

    /// Removes a blob from the cache (a damaged copy, or one the bucket no longer has).
    public func drop(_ id: String) {
        forget(id)
        if let path = try? local.filePath(of: id) { try? Syscall.unlinkIfPresent(path) }
    }

    private func forget(_ id: String) {
        state.withLock { state in
            if let gone = state.entries.removeValue(forKey: id) { state.bytes -= gone.size }
        }
    }

    private func touch(_ id: String, path: String) {
        let now = Self.now()
        let stale = state.withLock { state -> Bool in
            guard var entry = state.entries[id] else { return false }
            entry.lastUse = now
            let stale = now / 1_000_000_000 - entry.persisted >= 60
            if stale { entry.persisted = now / 1_000_000_000 }
            state.entries[id] = entry
            return stale
        }
        // The order survives a restart; the file's bytes do not change.
        if stale { _ = utimensat(AT_FDCWD, path, nil, 0) }
    }

    private static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    private func freeFraction() -> Double {
        guard let info = try? Syscall.fileSystemStatus(local.root), info.f_blocks > 0 else { return 1 }
        return Double(info.f_bavail) / Double(info.f_blocks)
    }

    private func freeBytes() -> Int64 {
        guard let info = try? Syscall.fileSystemStatus(local.root) else { return .max }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Drops least recently used blobs until `incoming` more bytes fit under the limit and the
    /// disk keeps its free share (never `keeping`, the blob just added).
    private func makeRoom(for incoming: Int64, keeping: String? = nil) {
        while true {
            let over = state.withLock { $0.bytes + incoming > maximumBytes }
            let crowded = freeFraction() < minimumFreeFraction || freeBytes() < incoming
            guard over || crowded else { return }
            let victim = state.withLock { state in
                state.entries.filter { $0.key != keeping }.min { $0.value.lastUse < $1.value.lastUse }?.key
            }
            guard let victim else { return }
            drop(victim)
        }
    }
}
