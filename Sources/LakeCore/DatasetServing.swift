import Foundation
import LakeCatalog
import LakeModel
import LakeSystem

/// The store's side of an account's own dataset mount (security.md): run in a session acting
/// for the account, it takes the dataset's snapshot (refused when the account may not read the
/// dataset, or it is not frozen), records the mount, sends the snapshot, then opens blob files
/// for the mount — read-only, and only the dataset's — until the mount goes away.
public enum DatasetServing {
    public static func serve(_ id: LakeID, store: Store, connection: Int32, mountpoint: String) throws {
        let snapshot: DatasetSnapshot
        do {
            // Refused unless the account may read the dataset; then all of it (the dataset is the grant).
            let catalog = try (store.catalog as? AccountCatalog)?.granted(dataset: id) ?? store.catalog
            snapshot = try DatasetSnapshot.take(id, from: catalog)
        } catch {
            // Said to the mount, which reports it to the account that asked.
            try? UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.Reply(exit: 1, message: "\(error)")))
            throw error
        }
        try store.catalog.recordAudit("mount", id: id, details: ["mountpoint": .string(mountpoint)], by: nil, at: .now)
        try UnixSocket.send(connection, SessionProtocol.encode(snapshot))
        let allowed = snapshot.blobIDs
        var grant = Grant(dataset: id, catalog: store.catalog as? AccountCatalog)
        while true {
            let woken = wait(on: connection)
            if woken == .daemonGone { return }
            // A grant taken away (`lake dataset chgrp`, `chmod`) ends the session within a
            // second, asked or idle: the mount asks for a new one at its next open, and is refused.
            let revoked = grant.revoked()
            if woken == .idle {
                if revoked != nil { return }
                continue
            }
            guard let (payload, descriptors) = try UnixSocket.receive(connection) else { return }
            descriptors.forEach { Syscall.close($0) }
            if let revoked {
                try UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.Reply(errno: EACCES, message: revoked)))
                return
            }
            let request = try SessionProtocol.decode(SessionProtocol.BlobRequest.self, payload)
            guard allowed.contains(request.blob) else {
                try UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.Reply(errno: EACCES)))
                continue
            }
            if request.readDamaged == true {
                let recorded = checkServedCopy(request.blob, snapshot: snapshot, store: store)
                try UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.Reply(recorded: recorded)))
                continue
            }
            // A blob found damaged since the snapshot is not handed out either.
            if (try? store.catalog.damagedBlobIDs().contains(request.blob)) == true {
                try UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.Reply(errno: EIO)))
                continue
            }
            do {
                let file = try store.blobs.open(request.blob)
                try UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.Reply()), descriptors: [file.descriptor])
            } catch {
                try UnixSocket.send(connection, SessionProtocol.encode(SessionProtocol.Reply(errno: (error as? SystemError)?.errno ?? EIO)))
            }
        }
    }

    enum Woken { case request, idle, daemonGone }

    /// Sleeps until the mount asks something, a second has passed (the grant is due a check),
    /// or the store's daemon is gone (the session ends with it, even when it was killed and
    /// could not end it; the mount asks the next daemon for a new one).
    static func wait(on connection: Int32) -> Woken {
        var watches = [pollfd(fd: connection, events: Int16(POLLIN), revents: 0)]
        var info = stat()
        let daemon = SessionProtocol.daemonDescriptor
        if fstat(daemon, &info) == 0, info.st_mode & S_IFMT == S_IFIFO { watches.append(pollfd(fd: daemon, events: 0, revents: 0)) }
        let ready = poll(&watches, nfds_t(watches.count), 1000)
        if watches.count > 1, watches[1].revents != 0 { return .daemonGone }
        return ready > 0 ? .request : .idle
    }

    /// The account's grant of the dataset, checked again at most once a second while the session
    /// serves, idle or not (a check reads the dataset's row and its cases; a loader opens
    /// thousands of files).
    struct Grant {
        let dataset: LakeID
        /// The account's view of the catalog; nil for root, whose grant is never in question.
        let catalog: AccountCatalog?
        var checkedAt = ContinuousClock.now

        /// Why the account may no longer read the dataset, if it may not.
        mutating func revoked() -> String? {
            guard let catalog, ContinuousClock.now - checkedAt >= .seconds(1) else { return nil }
            checkedAt = .now
            do {
                _ = try catalog.granted(dataset: dataset)
                return nil
            } catch let error as CatalogError {
                if case .refused = error { return "\(error)" }
                if case .notFound = error { return "\(error)" }
                return nil
            } catch {
                return nil
            }
        }
    }

    /// The mount read the copy of `blob` it was handed damaged. The mount's word is not taken:
    /// the store checks its own copy — a bucket store re-hashes its cached copy and drops it if
    /// damaged (fetched again at the next open; the bucket's copy is not in question), a store
    /// folder re-hashes the blob, its only copy — and records damage it finds itself. Whether it
    /// recorded the blob as damaged (then the mount stops serving it too).
    static func checkServedCopy(_ blob: String, snapshot: DatasetSnapshot, store: Store) -> Bool {
        guard let size = snapshot.objects.lazy.compactMap({ $0.object.file.blob }).first(where: { $0.id == blob })?.size else { return false }
        let check = store.blobs.scrub(blob, expectedSize: size)
        do {
            let damage = try BlobIntegrity(store: store).record(blob, check, foundBy: "dataset mount", rehashed: false)
            if let damage {
                store.logger.error("blob \(blob) is damaged (\(damage.reason)), found by an account's dataset mount; its objects are no longer served")
            }
            return damage != nil
        } catch {
            store.logger.warning("cannot record the damage an account's dataset mount found in blob \(blob): \(error)")
            return false
        }
    }

    /// The mount's side: asks the daemon of the store at `storePath` to serve dataset `id`
    /// mounted at `mountpoint`; the snapshot and the connection blobs are asked on.
    public static func request(_ id: LakeID, storePath: String, mountpoint: String, log: Int32) throws -> (DatasetSnapshot, Int32) {
        let connection = try UnixSocket.connect(to: SessionProtocol.socketPath(forStore: storePath))
        do {
            let devNull = (try? Syscall.open("/dev/null", O_RDWR)) ?? log
            defer { if devNull != log { Syscall.close(devNull) } }
            let run = SessionProtocol.Run(arguments: ["dataset", "serve", id.rawValue, "--mountpoint", mountpoint, "--store", storePath],
                                          environment: [:])
            try UnixSocket.send(connection, SessionProtocol.encode(run), descriptors: [devNull, devNull, log])
            guard let (payload, descriptors) = try UnixSocket.receive(connection) else {
                throw SystemError("the store's mount daemon ended the session", path: storePath, errno: ECONNRESET)
            }
            descriptors.forEach { Syscall.close($0) }
            if let snapshot = try? SessionProtocol.decode(DatasetSnapshot.self, payload) { return (snapshot, connection) }
            let reply = try SessionProtocol.decode(SessionProtocol.Reply.self, payload)
            throw CatalogError.refused(reply.message ?? "the store's mount daemon refused to serve dataset \(id) (see the log)")
        } catch {
            Syscall.close(connection)
            throw error
        }
    }

    /// How the mount asks for a new session when the daemon restarts: the same request, the
    /// account's grant checked anew; the snapshot must be the one mounted (a frozen dataset's
    /// never changes; one that did is not served under the old tree).
    public static func renewal(of id: LakeID, serving snapshot: DatasetSnapshot, storePath: String, mountpoint: String,
                               log: Int32) -> ServedBlobStore.Renewal {
        let blobs = snapshot.blobIDs
        return {
            let (renewed, connection) = try request(id, storePath: storePath, mountpoint: mountpoint, log: log)
            guard renewed.blobIDs == blobs else {
                Syscall.close(connection)
                throw CatalogError.refused("dataset \(id) is not the one mounted any more; unmount and mount it again")
            }
            return connection
        }
    }
}
