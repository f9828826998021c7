#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A one-line progress bar on stderr (bytes, rate, ETA) for large files, shown only when stderr
/// is a terminal.
final class ProgressBar {
    static let threshold: Int64 = 4 << 20
    let label: String
    let total: Int64
    let start = Date()
    var lastDraw = Date.distantPast
    let enabled: Bool

    init(label: String, total: Int64) {
        self.label = label
        self.total = total
        enabled = isatty(STDERR_FILENO) == 1 && total >= Self.threshold
    }

    func update(_ done: Int64) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(lastDraw) >= 0.1 || done == total else { return }
        lastDraw = now
        let elapsed = max(now.timeIntervalSince(start), 0.001)
        let rate = Double(done) / elapsed
        let fraction = total > 0 ? Double(done) / Double(total) : 1
        let width = 24
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let eta = rate > 0 ? Int(Double(total - done) / rate) : 0
        let name = label.count > 24 ? "…" + label.suffix(23) : label
        let line = "\r\(name) [\(bar)] \(ByteCount.text(done)) / \(ByteCount.text(total))  \(ByteCount.text(Int64(rate)))/s  ETA \(eta / 60):\(String(format: "%02d", eta % 60)) "
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}
