#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import LakeCatalog
import LakeFormats
import LakeModel
import LakeSystem
import Logging

/// Claims objects from the catalog's queue and processes them. Each claim holds a lease that a
/// timer renews while the processor runs; if this process dies the lease expires and another
/// worker claims the object again, up to `maxAttempts` times before it is FAILED.
public struct ProcessingWorker: Sendable {
    public let store: Store
    public let processors: Processors
    public let owner: String
    public let leaseSeconds: Double
    public let maxAttempts: Int

    public init(store: Store, processors: Processors = .standard, leaseSeconds: Double = 60, maxAttempts: Int = 3) {
        self.store = store
        self.processors = processors
        self.leaseSeconds = leaseSeconds
        self.maxAttempts = maxAttempts
        owner = "\(Host.name):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Claims and processes one object (restricted to `among` when given); nil when nothing
    /// is waiting that this worker can process.
    public func processNext(among: [LakeID]? = nil) throws -> LakeObject? {
        guard let claim = try store.catalog.claimForProcessing(
            formats: processors.formats, among: among, owner: owner, leaseSeconds: leaseSeconds,
            maxAttempts: maxAttempts, now: .now)
        else { return nil }
        let object = claim.object
        store.logger.debug("processing", metadata: ["object": "\(object.id)", "attempt": "\(claim.attempt)"])
        let outcome = withLeaseRenewed(object.id) { run(object) }
        if try !store.catalog.finishProcessing(object.id, owner: owner, outcome: outcome, at: .now) {
            store.logger.warning("lost the processing lease; another worker took the object over",
                                 metadata: ["object": "\(object.id)"])
        }
        return try store.catalog.object(object.id)
    }

    /// Processes until nothing claimable is left; returns the objects processed.
    public func drain(among: [LakeID]? = nil) throws -> [LakeObject] {
        var done: [LakeObject] = []
        while let object = try processNext(among: among) { done.append(object) }
        return done
    }

    func run(_ object: LakeObject) -> ProcessingOutcome {
        guard let processor = processors.processor(for: object.format) else {
            return .failed(reason: "no processor for format \(object.format.rawValue)")
        }
        guard let blob = object.file.blob else {
            return .failed(reason: "the object has no stored bytes; upload the file again")
        }
        let file: ReadableFile
        do { file = try store.blobs.open(blob.id) } catch {
            return .failed(reason: "the stored bytes could not be opened (\(error)); run `lake verify`")
        }
        let budget = ProcessingBudget(limitSeconds: store.config.processingTimeLimitSeconds)
        do {
            // A large blob's MD5 is computed beside the processor, on its own thread, so it costs
            // little wall time; a small one's afterwards, here: a thread would cost more than it.
            let needsMD5 = blob.contentHash.md5 == nil
            let background = needsMD5 && blob.size > 1 << 20 ? BackgroundDigest(blobs: store.blobs, id: blob.id) : nil
            let input = ProcessingInput(object: object, file: file, budget: budget, children: try children(of: object))
            let result = Result { try processor(input) }
            if needsMD5 { try store.catalog.recordMD5(try background?.wait() ?? store.blobs.md5(of: blob.id), forBlob: blob.id) }
            let derived = try result.get()
            return .ready(provisions: derived.provisions, warnings: object.warnings + derived.warnings)
        } catch let error as FormatError {
            return .failed(reason: error.message)
        } catch {
            return .failed(reason: "the stored bytes could not be read (\(error)); run `lake verify`")
        }
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

    /// Runs `body` while a timer renews the lease every third of its length.
    func withLeaseRenewed<T>(_ id: LakeID, _ body: () -> T) -> T {
        let timer = DispatchSource.makeTimerSource(queue: .global())
        let interval = leaseSeconds / 3
        timer.schedule(deadline: .now() + interval, repeating: interval)
        let catalog = store.catalog, owner = owner, lease = leaseSeconds, logger = store.logger
        timer.setEventHandler {
            do {
                if try !catalog.renewLease(id, owner: owner, leaseSeconds: lease, now: .now) {
                    logger.warning("processing lease lost", metadata: ["object": "\(id)"])
                }
            } catch {
                logger.warning("cannot renew the processing lease: \(error)", metadata: ["object": "\(id)"])
            }
        }
        timer.resume()
        defer { timer.cancel() }
        return body()
    }
}
