import ArgumentParser
import Foundation
import LakeCatalog
import LakeCore
import LakeModel

/// `lake status`: the store at a glance — where it is and why that one, its sizes and free
/// space, objects by status, the processing queue and why its oldest item waits, the mounts.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the store: sizes, objects by status, the queue, mounts.")

    @OptionGroup var options: StoreOptions

    @Flag(help: "Print the status as JSON.")
    var json = false

    func run() throws {
        try reportingErrors {
            let store = try options.openStore()
            let status = try StoreStatus.gather(store)
            let now = Timestamp.now
            let why = status.queue.first.map { queued in
                // Merely queued: say who will take it (ObjectText.held speaks after a drain, when
                // what is left is what this build cannot process).
                if queued.status == .uploaded, queued.unsettledChildren == 0, (queued.blocksAwaitedUntil.map { $0 <= now } ?? true) {
                    let worker = status.daemons.first { $0.dataset == nil }.map { "the mount daemon at \($0.mountpoint) (pid \($0.pid))" }
                    return "QUEUED         \(queued.id)  taken by the next worker: "
                        + (worker ?? "no mount daemon runs here; `lake process` or `lake wait` processes it")
                }
                return ObjectText.held(queued, now: now)
            }
            if json {
                print(LakeJSON.string(JSONView(status, chosenBy: options.storeChosenBy, oldestWhy: why), pretty: true))
                return
            }
            print("Store     \(status.root) (\(options.storeChosenBy))")
            if let url = status.catalogURL {
                print("Catalog   PostgreSQL at \(url)")
            } else {
                print("Catalog   \(ByteCount.text(status.catalogBytes))")
            }
            print("Blobs     \(status.blobs.count) blob\(status.blobs.count == 1 ? "" : "s"), \(ByteCount.text(status.blobs.bytes))")
            let percent = status.diskTotal > 0 ? Int((Double(status.diskFree) / Double(status.diskTotal) * 100).rounded()) : 0
            print("Disk      \(ByteCount.text(status.diskFree)) free of \(ByteCount.text(status.diskTotal)) (\(percent) %)")
            let counts = ObjectStatus.allCases.map { "\($0.rawValue) \(status.objects[$0] ?? 0)" }.joined(separator: ", ")
            print("Objects   \(counts)")
            print("Trash     \(TrashText.count(Int(status.trash.count))), \(ByteCount.text(status.trash.bytes)); "
                  + "purged after \(TrashText.days(store.config.trashDays))")
            if let oldest = status.oldest, let why {
                print("Queue     \(status.queue.count) waiting; the oldest since \(String(oldest.createdAt.rfc3339.prefix(19)))Z:")
                print("          \(why)")
            } else {
                print("Queue     empty")
            }
            if status.daemons.isEmpty { print("Mounts    none on this machine") }
            for daemon in status.daemons {
                let what = daemon.dataset.map { "dataset \($0) at " } ?? (daemon.readOnly ? "read-only at " : "")
                print("Mount     \(what)\(daemon.mountpoint) (daemon pid \(daemon.pid)\(daemon.mounted ? "" : ", not mounted"))")
            }
            // Every machine's mount daemons, from their sessions in the catalog.
            for node in status.nodes {
                let age = max(0, now.microseconds - node.heartbeatAt.microseconds) / 1_000_000
                print("Node      \(node.host) pid \(node.pid) at \(node.mountpoint), since \(String(node.startedAt.rfc3339.prefix(19)))Z, last heard \(age) s ago")
            }
        }
    }

    struct JSONView: Encodable {
        struct Size: Encodable { var count: Int64; var bytes: Int64 }
        struct Disk: Encodable {
            var freeBytes: Int64, totalBytes: Int64
            enum CodingKeys: String, CodingKey { case freeBytes = "free_bytes", totalBytes = "total_bytes" }
        }
        struct Oldest: Encodable {
            var id: String, createdAt: String, why: String
            enum CodingKeys: String, CodingKey { case id, why, createdAt = "created_at" }
        }
        /// Absent values are written as null, never left out (json.md).
        struct Queue: Encodable {
            var depth: Int
            var oldest: Oldest?
            enum CodingKeys: String, CodingKey { case depth, oldest }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(depth, forKey: .depth)
                try container.encode(oldest, forKey: .oldest)
            }
        }
        struct Mount: Encodable {
            var pid: Int32, mountpoint: String, dataset: String?, mounted: Bool, readOnly: Bool
            enum CodingKeys: String, CodingKey { case pid, mountpoint, dataset, mounted, readOnly = "read_only" }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(pid, forKey: .pid)
                try container.encode(mountpoint, forKey: .mountpoint)
                try container.encode(dataset, forKey: .dataset)
                try container.encode(mounted, forKey: .mounted)
                try container.encode(readOnly, forKey: .readOnly)
            }
        }
        var store: String
        var storeChosenBy: String
        var catalogBytes: Int64
        var blobs: Size
        var disk: Disk
        var objects: [String: Int]
        var trash: Size
        var queue: Queue
        var mounts: [Mount]
        var catalogURL: String?
        var nodes: [NodeSession]
        enum CodingKeys: String, CodingKey {
            case store, blobs, disk, objects, trash, queue, mounts, nodes
            case storeChosenBy = "store_chosen_by", catalogBytes = "catalog_bytes", catalogURL = "catalog_url"
        }

        /// Absent values are written as null, never left out (json.md).
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(store, forKey: .store)
            try container.encode(storeChosenBy, forKey: .storeChosenBy)
            try container.encode(catalogBytes, forKey: .catalogBytes)
            try container.encode(catalogURL, forKey: .catalogURL)
            try container.encode(blobs, forKey: .blobs)
            try container.encode(disk, forKey: .disk)
            try container.encode(objects, forKey: .objects)
            try container.encode(trash, forKey: .trash)
            try container.encode(queue, forKey: .queue)
            try container.encode(mounts, forKey: .mounts)
            try container.encode(nodes, forKey: .nodes)
        }

        init(_ status: StoreStatus, chosenBy: String, oldestWhy: String?) {
            store = status.root
            storeChosenBy = chosenBy
            catalogBytes = status.catalogBytes
            blobs = Size(count: status.blobs.count, bytes: status.blobs.bytes)
            disk = Disk(freeBytes: status.diskFree, totalBytes: status.diskTotal)
            objects = Dictionary(uniqueKeysWithValues: ObjectStatus.allCases.map { ($0.rawValue, status.objects[$0] ?? 0) })
            trash = Size(count: status.trash.count, bytes: status.trash.bytes)
            queue = Queue(depth: status.queue.count, oldest: status.oldest.map {
                Oldest(id: $0.id.rawValue, createdAt: $0.createdAt.rfc3339, why: oldestWhy ?? "")
            })
            mounts = status.daemons.map { Mount(pid: $0.pid, mountpoint: $0.mountpoint, dataset: $0.dataset, mounted: $0.mounted, readOnly: $0.readOnly) }
            catalogURL = status.catalogURL
            nodes = status.nodes
        }
    }
}
