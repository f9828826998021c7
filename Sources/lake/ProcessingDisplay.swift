#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LakeCore
import LakeModel
import LakeSystem
import Synchronization

/// `lake upload` on a terminal, while it waits for large files to be processed: one line on
/// stderr with the file, how much of its statistics work is done and the time so far, redrawn
/// five times a second (and as each file starts, so none is missed), cleared at the end.
final class ProcessingDisplay: Sendable {
    let enabled: Bool
    private let started = Date()
    private let stopping = Mutex(false)
    private let drawing = Mutex(())
    private let done = DispatchSemaphore(value: 0)
    let watch: ProcessingWatch

    /// Shown when stderr is a terminal and a file is at least `ProgressBar.threshold` bytes.
    init(sizes: [Int64]) {
        enabled = isatty(STDERR_FILENO) == 1 && sizes.contains { $0 >= ProgressBar.threshold }
        nonisolated(unsafe) weak var display: ProcessingDisplay?
        watch = ProcessingWatch { current in display?.draw(current) }
        display = self
        guard enabled else { return }
        let drawing = DetachedThread.start("lake-progress") { [self] in
            while !stopping.withLock({ $0 }) {
                if let current = watch.now { draw(current) }
                usleep(200_000)
            }
            done.signal()
        }
        // No thread to be had: files are drawn only as each starts, and `stop` waits for nothing.
        if !drawing { done.signal() }
    }

    func draw(_ current: ProcessingWatch.Current) {
        guard enabled, current.object.size >= ProgressBar.threshold else { return }
        let fraction = current.progress.fraction ?? 0
        let width = 24, filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let name = current.object.file.name.count > 24 ? "…" + current.object.file.name.suffix(23) : current.object.file.name
        let line = "\rProcessing \(name) [\(bar)] \(Int(fraction * 100)) %  \(String(format: "%.1f", Date().timeIntervalSince(started))) s \u{1B}[K"
        drawing.withLock { _ in FileHandle.standardError.write(Data(line.utf8)) }
    }

    func stop() {
        guard enabled else { return }
        stopping.withLock { $0 = true }
        done.wait()
        drawing.withLock { _ in FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
