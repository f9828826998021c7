import Dispatch
import LakeBlobStore

/// A blob's MD5 computed on a thread of its own; `wait()` returns it (or its error).
final class BackgroundDigest: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var outcome: Result<String, any Error> = .failure(CancellationError())

    init(blobs: any BlobStore, id: String) {
        DispatchQueue.global().async {
            self.outcome = Result { try blobs.md5(of: id) }
            self.done.signal()
        }
    }

    func wait() throws -> String {
        done.wait()
        return try outcome.get()
    }
}
