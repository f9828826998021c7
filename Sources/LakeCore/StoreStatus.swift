import LakeCatalog
import LakeModel
import LakeSystem

/// What `lake status` reports: the store's sizes and free space, objects by status, the
/// processing queue (its oldest item and why it waits), and the mount daemons running here.
public struct StoreStatus: Sendable {
    public var root: String
    /// catalog.sqlite with its log and shared-memory index.
    public var catalogBytes: Int64
    public var blobs: (count: Int64, bytes: Int64)
    public var diskFree: Int64
    public var diskTotal: Int64
    /// Objects outside the trash, by status.
    public var objects: [ObjectStatus: Int]
    /// Objects in the trash and their blobs' bytes (freed by `lake gc` once purged).
    public var trash: (count: Int64, bytes: Int64)
    /// UPLOADED and PROCESSING objects, oldest first.
    public var queue: [QueuedObject]
    /// The oldest queued object, with when it was made.
    public var oldest: LakeObject?
    public var daemons: [MountDaemons.Daemon]
    /// The PostgreSQL catalog's URL (nil: catalog.sqlite in the folder).
    public var catalogURL: String?
    /// The mount daemons alive on every machine of a store whose catalog is PostgreSQL (by their
    /// sessions in it); empty on the embedded catalog, whose mounts are `daemons`.
    public var nodes: [NodeSession]

    public static func gather(_ store: Store) throws -> StoreStatus {
        let catalogBytes = ["", "-wal", "-shm"].reduce(Int64(0)) { total, suffix in
            total + ((try? Syscall.fileStatus(Store.catalogPath(store.root) + suffix)).flatMap { $0 }.map { Int64($0.st_size) } ?? 0)
        }
        let disk = try Syscall.fileSystemStatus(store.root)
        let queue = try store.catalog.queuedObjects()
        return StoreStatus(
            root: store.root, catalogBytes: catalogBytes, blobs: try store.catalog.blobTotals(),
            diskFree: Int64(disk.f_bavail) * Int64(disk.f_frsize), diskTotal: Int64(disk.f_blocks) * Int64(disk.f_frsize),
            objects: try store.catalog.statusCounts(), trash: try store.catalog.trashTotals(), queue: queue,
            oldest: try queue.first.flatMap { try store.catalog.object($0.id) },
            daemons: MountDaemons.of(store: store.root), catalogURL: store.config.catalog,
            // Sessions left in an embedded catalog by older versions are no one's (none are kept there now).
            nodes: store.config.catalog == nil ? [] : try store.catalog.nodeSessions())
    }
}
