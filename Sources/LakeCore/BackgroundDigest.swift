import Foundation
import LakeBlobStore
import LakeSystem

/// A blob's MD5 computed on a thread of its own; `wait()` returns it (or its error). The thread
/// holds a core in `CoreShare` while it hashes — the MD5 cannot be split, so the statistics'
/// helpers wait for it rather than share its core — and, started by the processing thread, it
/// runs at that thread's priority (the daemon's processing yields to the mount's requests).
final class BackgroundDigest: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var outcome: Result<String, any Error> = .failure(CancellationError())

    init(blobs: any BlobStore, id: String) {
        let started = DetachedThread.start("lake-md5") {
            self.outcome = Result { try CoreShare.shared.occupy { try blobs.md5(of: id) } }
            self.done.signal()
        }
        if !started {
            // No thread to be had: the MD5 is computed here, before the processor runs.
            outcome = Result { try blobs.md5(of: id) }
            done.signal()
        }
    }

    func wait() throws -> String {
        done.wait()
        return try outcome.get()
    }
}
