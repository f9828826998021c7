import LakeSystem
import LakeCore
import Logging

/// A thread that, every `interval` seconds, lets go of the blob files the mount holds whose files
/// have been removed (`LakeFileSystem.releaseRemovedBlobs`, and `alsoRelease`: what the FUSE
/// adapter holds, its passthrough backings), so `lake gc` and a node cache making room free their
/// space even in a daemon that nobody asks for those files again. An `fstat` per file held: every
/// 5 s costs an idle daemon holding 2,000 files about 0.15 % of one core (benchmarks.md).
public final class RemovedBlobReleaser: Sendable {
    let fs: LakeFileSystem
    let interval: Double
    let alsoRelease: @Sendable () -> Int
    private let thread = BackgroundThread(name: "lake-blob-release")

    public init(fs: LakeFileSystem, interval: Double = 5, alsoRelease: @escaping @Sendable () -> Int) {
        self.fs = fs
        self.interval = interval
        self.alsoRelease = alsoRelease
    }

    public func start() throws(ThreadStartError) {
        try thread.start { [fs, interval, alsoRelease] thread in
            while thread.pause(interval, wakeable: false) {
                let released = fs.releaseRemovedBlobs() + alsoRelease()
                if released > 0 { fs.logger.debug("let go of \(released) removed blob files") }
            }
        }
    }

    /// Asks the thread to end and waits until it has (it may be giving backings back through the
    /// FUSE connection, which must outlive that).
    public func stop() {
        thread.stop()
    }
}
