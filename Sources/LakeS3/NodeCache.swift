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
/// a minute. Several processes share the folder (the mount daemon, `lake` commands): a blob
/// another one cached is found on disk and taken into this one's index.
///
/// The folder is its owner's alone (0700), as a local store's is: its files are every object's
/// bytes, readable by anyone who can enter it, whatever the mount's modes say.
public final class NodeCache: Sendable {
    public let local: LocalBlobStore
    public let maximumBytes: Int64
    public let minimumFreeFraction: Double
    let fetching: String
    /// A file in `fetching/` left alone for this long belongs to no live fetch (a live one writes
    /// to it as its ranges arrive): the next index build removes it.
    static let abandonedAfter: Int64 = 15 * 60

    /// `lastUse` in nanoseconds (distinct for uses in one second); `persisted` is when the
    /// file's modification time last recorded a use, in seconds.
    private struct Entry { var size: Int64; var lastUse: Int64; var persisted: Int64 }
    private struct Index {
        var entries: [String: Entry] = [:]
        var bytes: Int64 = 0
        /// The files `open` handed out, by blob, while someone holds them: a blob still open is
        /// passed over when room is made (dropping it would free no space until its last close,
        /// and its next open would fetch it again).
        var handedOut: [String: HandedOut] = [:]
    }
    private struct HandedOut { weak var file: ReadableFile? }
    /// Built at the first use: a command that reads no blob (most of them) never scans the folder.
    private let state = Mutex<Index?>(nil)

    public init(root: String, maximumBytes: Int64, minimumFreeFraction: Double = 0.05) throws {
        let isNew = !Syscall.isDirectory(Path.join(root, "blobs"))
        local = try LocalBlobStore(root: root, layout: .oneLevel)
        try Syscall.chmod(root, 0o700)
        if isNew { try local.makeFolders() }
        self.maximumBytes = maximumBytes
        self.minimumFreeFraction = minimumFreeFraction
        fetching = Path.join(root, "fetching")
        try Syscall.makeDirectories(fetching)
    }

    /// Runs `body` on the index, building it first if needed.
    private func withIndex<T>(_ body: (inout Index) -> T) -> T {
        state.withLock { index in
            if index == nil { index = scan() }
            return body(&index!)
        }
    }

    private func scan() -> Index {
        let now = Int64(Date().timeIntervalSince1970)
        for name in (try? Syscall.listDirectory(fetching)) ?? [] {
            let path = Path.join(fetching, name)
            if let info = try? Syscall.fileStatus(path), now - Int64(info.st_mtim.tv_sec) > Self.abandonedAfter {
                try? Syscall.unlinkIfPresent(path)
            }
        }
        var found = Index()
        for id in (try? local.allBlobIDs()) ?? [] {
            guard let path = try? local.filePath(of: id), let info = try? Syscall.fileStatus(path) else { continue }
            found.entries[id] = Self.entry(info)
            found.bytes += Int64(info.st_size)
        }
        return found
    }

    private static func entry(_ info: stat) -> Entry {
        Entry(size: Int64(info.st_size), lastUse: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
              persisted: Int64(info.st_mtim.tv_sec))
    }

    public var bytes: Int64 { withIndex { $0.bytes } }
    public var count: Int { withIndex { $0.entries.count } }

    public func contains(_ id: String) -> Bool { withIndex { $0.entries[id] != nil } }

    /// The cached file, or nil when the cache does not hold it.
    public func open(_ id: String) -> ReadableFile? {
        guard let path = try? local.filePath(of: id) else { return nil }
        guard let file = try? ReadableFile(path: path) else {
            // Not there, or gone from the folder behind the index's back.
            forget(id)
            return nil
        }
        let now = Self.now()
        // Known, or cached by another process sharing the folder since the index was built.
        let stale = withIndex { index -> Bool in
            guard var entry = index.entries[id] else {
                index.entries[id] = Entry(size: file.size, lastUse: now, persisted: now / 1_000_000_000)
                index.bytes += file.size
                index.handedOut[id] = HandedOut(file: file)
                return false
            }
            entry.lastUse = now
            let stale = now / 1_000_000_000 - entry.persisted >= 60
            if stale { entry.persisted = now / 1_000_000_000 }
            index.entries[id] = entry
            index.handedOut[id] = HandedOut(file: file)
            return stale
        }
        // The order survives a restart; the file's bytes do not change.
        if stale { _ = utimensat(AT_FDCWD, path, nil, 0) }
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
            // Emptied before it goes: the pipeline's thread may still hold a duplicate of the
            // descriptor for a moment, and an unlinked file keeps its blocks while any is open —
            // the next fetch into a full cache disk failed with ENOSPC for those blocks.
            try? Syscall.truncate(fd, to: 0, path: path)
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
        let added = withIndex { index -> Bool in
            guard index.entries[id] == nil else { return false }
            index.entries[id] = Entry(size: size, lastUse: now, persisted: now / 1_000_000_000)
            index.bytes += size
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
        withIndex { index in
            if let gone = index.entries.removeValue(forKey: id) { index.bytes -= gone.size }
            index.handedOut.removeValue(forKey: id)
        }
    }

    private static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }

    /// Whether the cache's disk has less than its free share left, or less than `incoming` bytes.
    private func isCrowded(for incoming: Int64) -> Bool {
        guard let info = try? Syscall.fileSystemStatus(local.root), info.f_blocks > 0 else { return false }
        let free = Int64(info.f_bavail) * Int64(info.f_frsize)
        return Double(info.f_bavail) / Double(info.f_blocks) < minimumFreeFraction || free < incoming
    }

    /// Drops least recently used blobs until `incoming` more bytes fit under the limit and the
    /// disk keeps its free share (never `keeping`, the blob just added). Blobs someone has open
    /// go last: only when every other is gone is an open one dropped (it stays readable to its
    /// holders; the limit holds for what the cache counts).
    private func makeRoom(for incoming: Int64, keeping: String? = nil) {
        // Files given up since the last time: their entries go, once per call.
        withIndex { index in index.handedOut = index.handedOut.filter { $0.value.file != nil } }
        while true {
            let over = withIndex { $0.bytes + incoming > maximumBytes }
            guard over || isCrowded(for: incoming) else { return }
            let victim = withIndex { index -> String? in
                // Not open before open, then least recently used first.
                var best: (rank: (Int, Int64), id: String)?
                for (id, entry) in index.entries where id != keeping {
                    let rank = (index.handedOut[id]?.file == nil ? 0 : 1, entry.lastUse)
                    if best == nil || rank < best!.rank { best = (rank, id) }
                }
                return best?.id
            }
            guard let victim else { return }
            drop(victim)
        }
    }
}
