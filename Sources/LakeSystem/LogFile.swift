#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A daemon's log file, which a daemon left running for weeks must not let grow without bound
/// (it lives in the store's folder, or an account's home): a line written again within
/// `repeatWindow` of its first writing is counted, not written, and the count follows once the
/// window is over ("… repeated N more times"), so a loader retrying a damaged file in a loop adds
/// two lines per window, not one per read; and past `maximumBytes` the file becomes `PATH.1`
/// (replacing the one before) and a new one is begun, so lines no run of repeats catches (a
/// different name each time) take at most twice that much.
public final class LogFile: Sendable {
    public static let defaultMaximumBytes: Int64 = 64 << 20

    let path: String
    let maximumBytes: Int64
    let repeatWindow: Duration
    /// Whether the process's stdout and stderr are this file (a background daemon's): they
    /// follow it to the new file, so what the runtime prints on a crash lands in the current log.
    let standardStreams: Bool

    /// Lines written lately, by their text without the time.
    private struct Recent {
        var since: ContinuousClock.Instant
        var repeats: Int
    }
    private struct State {
        var fd: Int32
        var bytes: Int64
        var recent: [String: Recent] = [:]
        /// A write failed (a full disk) and may have left part of its line: the next line
        /// starts on a line of its own.
        var lineBroken = false
    }
    /// Keys of lines remembered at most; the oldest go first when a new one comes.
    public static let remembered = 64
    private let state: Mutex<State>

    /// What the time is (tests move it on instead of waiting for a window to pass).
    let clock: @Sendable () -> ContinuousClock.Instant

    public init(path: String, maximumBytes: Int64 = defaultMaximumBytes, repeatWindow: Duration = .seconds(10),
                standardStreams: Bool, clock: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) throws {
        self.path = path
        self.maximumBytes = maximumBytes
        self.repeatWindow = repeatWindow
        self.standardStreams = standardStreams
        self.clock = clock
        let fd = try Self.open(path)
        var info = stat()
        let bytes = fstat(fd, &info) == 0 ? Int64(info.st_size) : 0
        state = Mutex(State(fd: fd, bytes: bytes))
    }

    /// Lines to stderr (a daemon in the foreground: the terminal, or systemd's journal), with
    /// repeats folded as in a file; never moved aside.
    public init(standardErrorWith repeatWindow: Duration = .seconds(10)) {
        path = "stderr"
        maximumBytes = .max
        self.repeatWindow = repeatWindow
        standardStreams = false
        clock = { .now }
        state = Mutex(State(fd: STDERR_FILENO, bytes: 0))
    }

    deinit {
        state.withLock { if $0.fd != STDERR_FILENO { Syscall.close($0.fd) } }
    }

    static func open(_ path: String) throws -> Int32 {
        try Syscall.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    }

    /// Appends `line` (a whole line, with its time), unless a line whose text without the time
    /// is `key` was written within the window: then it is counted.
    public func write(_ line: String, key: String, at time: String) {
        let now = clock()
        state.withLock { state in
            reportEndedRuns(&state, now: now, time: time)
            if let recent = state.recent[key], now - recent.since < repeatWindow {
                state.recent[key]!.repeats += 1
                return
            }
            if state.recent.count >= Self.remembered, let oldest = state.recent.min(by: { $0.value.since < $1.value.since }) {
                report(oldest.key, oldest.value, in: &state, time: time)
                state.recent[oldest.key] = nil
            }
            state.recent[key] = Recent(since: now, repeats: 0)
            append(line, to: &state)
        }
    }

    /// Writes the counts of runs of repeats (all of them: before the daemon ends).
    public func flush(at time: String) {
        state.withLock { state in
            for (key, recent) in state.recent { report(key, recent, in: &state, time: time) }
            state.recent = [:]
        }
    }

    /// Runs whose window is over: their counts are written and they are forgotten.
    private func reportEndedRuns(_ state: inout State, now: ContinuousClock.Instant, time: String) {
        // Asked at every line, a storm's included: nothing is made unless a run has ended.
        guard state.recent.values.contains(where: { now - $0.since >= repeatWindow }) else { return }
        let ended = state.recent.filter { now - $0.value.since >= repeatWindow }
        for (key, recent) in ended.sorted(by: { $0.value.since < $1.value.since }) {
            report(key, recent, in: &state, time: time)
            state.recent[key] = nil
        }
    }

    private func report(_ key: String, _ recent: Recent, in state: inout State, time: String) {
        guard recent.repeats > 0 else { return }
        let seconds = Int(repeatWindow.components.seconds)
        append("\(time) notice: \(key) (repeated \(recent.repeats) more times within \(seconds) s)\n", to: &state)
    }

    private func append(_ line: String, to state: inout State) {
        let bytes = Array(((state.lineBroken ? "\n" : "") + line).utf8)
        let fd = state.fd
        // A line that cannot be written (a full disk) is lost, as stderr's would be.
        guard (try? bytes.withUnsafeBytes({ try Syscall.writeAll(fd, $0, path: path) })) != nil else {
            state.lineBroken = true
            return
        }
        state.lineBroken = false
        state.bytes += Int64(bytes.count)
        if state.bytes >= maximumBytes { rotate(&state) }
    }

    /// The file becomes PATH.1 and a new one is begun (kept as it was if that fails).
    private func rotate(_ state: inout State) {
        guard rename(path, path + ".1") == 0, let fresh = try? Self.open(path) else { return }
        if standardStreams {
            _ = dup2(fresh, STDOUT_FILENO)
            _ = dup2(fresh, STDERR_FILENO)
        }
        Syscall.close(state.fd)
        state.fd = fresh
        state.bytes = 0
    }
}
