#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import LakeBlobStore
import LakeCatalog
import LakeFormats
import LakeModel
import LakeSystem
import Logging
import Synchronization

/// Claims objects from the catalog's queue and processes them. Each claim holds a lease that a
/// timer renews while the processor runs; if this process dies the lease expires and another
/// worker claims the object again, up to `maxAttempts` times before it is FAILED.
public struct ProcessingWorker: Sendable {
    public let store: Store
    public let processors: Processors
    public let owner: String
    public let leaseSeconds: Double
    public let maxAttempts: Int
    /// Renews the leases of the objects being processed (one timer per worker, not per object:
    /// a small file is processed in well under a millisecond).
    private let leases: LeaseRenewer
    /// Told which object this worker processes and how far it is (`lake upload`'s progress).
    public let watch: ProcessingWatch?

    public init(store: Store, processors: Processors = .standard, leaseSeconds: Double = 60, maxAttempts: Int = 3,
                watch: ProcessingWatch? = nil) {
        self.store = store
        self.watch = watch
        self.processors = processors
        self.leaseSeconds = leaseSeconds
        self.maxAttempts = maxAttempts
        owner = "\(Host.name):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
        leases = LeaseRenewer(catalog: store.catalog, owner: owner, leaseSeconds: leaseSeconds, logger: store.logger)
    }

    /// Claims and processes one object (restricted to `among` when given); nil when nothing
    /// is waiting that this worker can process.
    public func processNext(among: [LakeID]? = nil) throws -> LakeObject? {
        guard let id = try processOne(among: among.map(ClaimScope.init)) else { return nil }
        return try store.catalog.object(id)
    }

    /// `processNext` without reading the object back: the id of the object processed.
    public func processOne(among: ClaimScope? = nil) throws -> LakeID? {
        guard let claim = try store.catalog.claimForProcessing(
            formats: processors.formats, among: among, owner: owner, leaseSeconds: leaseSeconds,
            maxAttempts: maxAttempts, now: .now)
        else { return nil }
        let object = claim.object
        store.logger.debug("processing", metadata: ["object": "\(object.id)", "attempt": "\(claim.attempt)"])
        let (outcome, md5) = leases.renewing(object.id) { run(object) }
        if case .ready(let provisions, _, _) = outcome, provisions.json.utf8.count >= 1 << 20 {
            // The statistics of thousands of series (a KB each, now freed) would stay in this
            // process's heap beside the buffers the catalog's write allocates next: on PostgreSQL
            // a file at the limit of fields peaked at 145 MiB.
            Memory.releaseFreePages()
        }
        if try !store.catalog.finishProcessing(object.id, owner: owner, outcome: outcome, md5: md5, at: .now) {
            store.logger.warning("lost the processing lease; another worker took the object over",
                                 metadata: ["object": "\(object.id)"])
        }
        return object.id
    }

    /// Processes until nothing claimable is left; returns the objects processed.
    public func drain(among: [LakeID]? = nil) throws -> [LakeObject] {
        try drainIDs(among: among).compactMap { try store.catalog.object($0) }
    }

    /// `drain` without reading the objects back.
    public func drainIDs(among: [LakeID]? = nil) throws -> [LakeID] {
        let scope = among.map(ClaimScope.init)
        var done: [LakeID] = []
        while let id = try processOne(among: scope) { done.append(id) }
        return done
    }

    /// The outcome, and the blob's MD5 when it had none (recorded with the outcome).
    func run(_ object: LakeObject) -> (ProcessingOutcome, (blob: String, digest: String)?) {
        guard let processor = processors.processor(for: object.format) else {
            return (.failed(reason: "no processor for format \(object.format.rawValue)"), nil)
        }
        guard let blob = object.file.blob else {
            return (.failed(reason: "the object has no stored bytes; upload the file again"), nil)
        }
        if let damage = blob.damage {
            // Found by the scrubber, a read or `lake verify` since it was stored: never statistics of damaged bytes.
            return (.failed(reason: "the stored bytes are damaged (\(damage.reason)); upload the file again"), nil)
        }
        let file: ReadableFile
        do { file = try store.blobs.open(blob.id) } catch {
            if Self.isOutOfDescriptors(error) { return (.failed(reason: Self.outOfDescriptors(object)), nil) }
            return (.failed(reason: "the stored bytes could not be opened (\(error)); run `lake verify`, and if it finds them intact, `lake object reprocess \(object.id)`"), nil)
        }
        let progress = watch.map { _ in ProcessingProgress() }
        let budget = ProcessingBudget(limitSeconds: store.config.processingTimeLimitSeconds, progress: progress)
        if let progress { watch?.began(object, progress) }
        defer { watch?.ended(object) }
        var md5: (blob: String, digest: String)?
        do {
            // A large blob's MD5 is computed beside the processor, on its own thread, so it costs
            // little wall time; a small one's afterwards, here: a thread would cost more than it.
            let needsMD5 = blob.contentHash.md5 == nil
            let background = needsMD5 && blob.size > 1 << 20 ? BackgroundDigest(blobs: store.blobs, id: blob.id) : nil
            let input = ProcessingInput(object: object, file: file, budget: budget, children: try children(of: object))
            // The processor holds a core: helpers of its statistics start only on a free one.
            let result = Result { try CoreShare.shared.occupy { try processor(input) } }
            if needsMD5 { md5 = (blob.id, try background?.wait() ?? store.blobs.md5(of: blob.id)) }
            let derived = try result.get()
            // Encoded here, on this worker's thread and before the catalog's write lock: a file of
            // thousands of fields has megabytes of statistics (their structures are freed on return).
            return (.ready(provisions: EncodedProvisions(derived.provisions), warnings: object.warnings + derived.warnings,
                           mesh: derived.mesh), md5)
        } catch let error as FormatError {
            // Out of time is this store's limit, not the file's fault: say which and what then.
            let reason = budget.isSpent ? error.message + " (processing_time_limit_seconds in the store's lake.json; raise it, "
                + "then `lake object reprocess \(object.id)`)" : error.message
            return (.failed(reason: reason), md5)
        } catch where Self.isOutOfDescriptors(error) {
            return (.failed(reason: Self.outOfDescriptors(object)), md5)
        } catch {
            return (.failed(reason: "the stored bytes could not be read (\(error)); run `lake verify`, and if it finds them intact, `lake object reprocess \(object.id)`"), md5)
        }
    }

    /// Not damage: the process ran out of descriptors (a manifest holds each of its blocks open).
    static func isOutOfDescriptors(_ error: any Error) -> Bool {
        let system: SystemError?
        switch error {
        case let error as SystemError: system = error
        case BlobStoreError.io(let error): system = error
        default: system = nil
        }
        return system.map { $0.errno == EMFILE || $0.errno == ENFILE } ?? false
    }

    static func outOfDescriptors(_ object: LakeObject) -> String {
        let blocks = object.contentReferences.isEmpty ? "" : " (it has \(object.contentReferences.count) blocks, each held open)"
        return "processing needed more open files than this process may hold\(blocks): its limit is "
            + "\(Syscall.descriptorLimit()) (`ulimit -n`; LimitNOFILE= for lake.service); raise it, then `lake object reprocess \(object.id)`"
    }

    /// A manifest's children with their bytes, nested manifests flattened into their blocks.
    func children(of object: LakeObject, depth: Int = 0) throws -> [ProcessingInput.Child] {
        guard depth < 8 else { throw FormatError("manifests nest more than 8 deep (a manifest that references itself?)") }
        var children: [ProcessingInput.Child] = []
        for reference in object.contentReferences {
            guard let id = reference.objectId, let child = try store.catalog.object(id) else {
                children.append(.init(reference: reference, object: nil, file: nil))
                continue
            }
            if child.format == .vtm && child.status == .ready {
                children += try self.children(of: child, depth: depth + 1).map { nested in
                    var nested = nested
                    nested.reference.path = Path.join(Path.parent(of: reference.path) == "." ? "" : Path.parent(of: reference.path), nested.reference.path)
                    return nested
                }
                continue
            }
            let file = try child.file.blob.map { try store.blobs.open($0.id) }
            children.append(.init(reference: reference, object: child, file: file))
        }
        return children
    }

}

/// Renews the processing leases of a worker's objects every third of the lease's length, on one
/// thread for the worker's lifetime, started when its first object is. An object is renewed at
/// most a third of a lease after it was claimed, so no lease runs out while it is processed.
///
/// A thread of its own, not a Dispatch timer: Dispatch retries a thread it cannot make for ever,
/// so at a process limit (`ulimit -u`, a cgroup's `pids.max`) the timer's `resume()` never
/// returned and `lake upload` hung. Without a thread the worker goes on without renewals: a
/// claim's lease still covers an object for its length, and one processed for longer may be
/// taken over and processed again by another worker (work done twice, nothing lost).
final class LeaseRenewer: Sendable {
    private let active = Active()
    private let thread = BackgroundThread(name: "lake-lease")
    private let started = Mutex(false)
    private let renew: @Sendable (Set<LakeID>) -> Void
    private let interval: Double
    private let logger: Logger

    init(catalog: any Catalog, owner: String, leaseSeconds: Double, logger: Logger) {
        interval = leaseSeconds / 3
        self.logger = logger
        renew = { ids in
            for id in ids {
                do {
                    if try !catalog.renewLease(id, owner: owner, leaseSeconds: leaseSeconds, now: .now) {
                        logger.warning("processing lease lost", metadata: ["object": "\(id)"])
                    }
                } catch {
                    logger.warning("cannot renew the processing lease: \(error)", metadata: ["object": "\(id)"])
                }
            }
        }
    }

    deinit { thread.stop() }

    func renewing<T>(_ id: LakeID, _ body: () -> T) -> T {
        startOnce()
        active.ids.withLock { _ = $0.insert(id) }
        defer { active.ids.withLock { _ = $0.remove(id) } }
        return body()
    }

    private func startOnce() {
        started.withLock { started in
            guard !started else { return }
            started = true
            // The thread holds what it renews, not the renewer: the renewer's deinit stops the
            // thread and waits for it, which it could not do on that thread itself.
            let (renew, interval, active) = (renew, interval, active)
            do {
                try thread.start { thread in
                    while thread.pause(interval, wakeable: false) { renew(active.ids.withLock { $0 }) }
                }
            } catch {
                logger.warning("processing leases are not renewed: \(error)")
            }
        }
    }

    /// The objects being processed, shared by the renewer and its thread.
    private final class Active: Sendable {
        let ids = Mutex<Set<LakeID>>([])
    }
}
