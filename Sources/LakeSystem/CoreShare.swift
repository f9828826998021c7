#if canImport(Glibc)
import Glibc
#endif

import Foundation
import Synchronization

/// The machine's cores as this process's CPU-bound work shares them. Work that has to run — a
/// processor on its worker's thread, a file's MD5 on a thread beside it — marks a core as taken
/// (`occupy`) and never waits. Work cut into pieces (`perform`) runs them on the caller's thread
/// and on helper threads that start only while a core is free, and join as soon as one frees.
///
/// Why: a raw file's MD5 cannot be split and is the longest single piece of its processing, yet
/// the statistics' two threads beside it made three threads on two cores, and the scheduler gave
/// the MD5 two thirds of one (`perf`: 117–131 ms of CPU over 140–166 ms). With the MD5 holding
/// its core, the statistics run on the other one and take the MD5's once it is done.
///
/// Helpers are started by the calling thread, so they run at its priority: the daemon's
/// processing runs at nice 10, and the shared dispatch queues it used before ran its pieces at 0,
/// beside the requests of people reading and writing through the mount.
public final class CoreShare: @unchecked Sendable {
    public static let shared = CoreShare(cores: CoreShare.usableCores())

    public let cores: Int
    /// Starts a helper thread; false when the system makes none (a thread limit, no memory).
    private let startThread: @Sendable (@escaping @Sendable () -> Void) -> Bool
    private let condition = NSCondition()
    /// Cores marked taken; read and written with `condition` locked.
    private var taken = 0

    public init(cores: Int, startThread: @escaping @Sendable (@escaping @Sendable () -> Void) -> Bool = { DetachedThread.start("lake-helper", $0) }) {
        self.cores = max(1, cores)
        self.startThread = startThread
    }

    /// The cores this process may run on (its affinity: `taskset`, a cgroup's cpuset).
    public static func usableCores() -> Int {
        // 1,024 CPUs' bits, as glibc's cpu_set_t holds.
        var mask = [UInt8](repeating: 0, count: 128)
        if let affinity = GNUFunctions.schedGetAffinity,
           mask.withUnsafeMutableBytes({ affinity(0, $0.count, $0.baseAddress!) }) == 0 {
            let count = mask.reduce(0) { $0 + $1.nonzeroBitCount }
            if count > 0 { return count }
        }
        return max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    /// Helpers waiting for a core; read and written with `condition` locked.
    private var waiting = 0

    /// Cores marked taken now (for tests and logs).
    public var takenCores: Int {
        condition.lock()
        defer { condition.unlock() }
        return taken
    }

    /// Helpers waiting for a core now (for tests).
    public var waitingHelpers: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting
    }

    /// Runs `body` with a core marked taken by it.
    public func occupy<T>(_ body: () throws -> T) rethrows -> T {
        take()
        let held = Self.heldByThisThread
        Self.heldByThisThread = held + 1
        defer {
            Self.heldByThisThread = held
            give()
        }
        return try body()
    }

    /// Runs `body` with every `perform` it makes done by this thread alone, in order: the
    /// reference that tests compare the pieces' results with, whichever thread took which.
    public static func alone<T>(_ body: () throws -> T) rethrows -> T {
        let was = aloneOnThisThread
        aloneOnThisThread = true
        defer { aloneOnThisThread = was }
        return try body()
    }

    private static var aloneOnThisThread: Bool {
        get { Thread.current.threadDictionary[aloneKey] as? Bool ?? false }
        set { Thread.current.threadDictionary[aloneKey] = newValue }
    }
    private static let aloneKey = "lake.CoreShare.alone"

    /// Cores this thread marked taken (`occupy`, or as a helper), so that `perform` lends them
    /// while it only waits.
    private static var heldByThisThread: Int {
        get { Thread.current.threadDictionary[heldKey] as? Int ?? 0 }
        set { Thread.current.threadDictionary[heldKey] = newValue }
    }
    private static let heldKey = "lake.CoreShare.held"

    private func take() {
        condition.lock()
        taken += 1
        condition.unlock()
    }

    private func give() {
        condition.lock()
        taken -= 1
        condition.broadcast()
        condition.unlock()
    }

    /// Calls `work` once for each of `0..<count`, in no particular order and from several
    /// threads: the caller's, and up to `cores - 1` helpers, each starting only while a core is
    /// free. Returns once every call has returned. `work` must be safe to call concurrently.
    public func perform(_ count: Int, _ work: @escaping (Int) -> Void) {
        let helpers = Self.aloneOnThisThread ? 0 : min(cores - 1, count - 1)
        guard helpers > 0 else {
            for index in 0..<max(count, 0) { work(index) }
            return
        }
        let pieces = Pieces(count: count, work: work, helpers: helpers)
        for _ in 0..<helpers where !startThread({ [self] in help(pieces) }) {
            // The caller does the pieces this helper would have taken.
            pieces.helperEnded()
        }
        pieces.run()
        // Nothing is left to hand out: helpers still waiting for a core stop, and while this
        // thread only waits for the pieces in flight, a core it holds is lent to whoever waits
        // (the helpers of a piece's own `perform`).
        let lent = Self.heldByThisThread > 0
        condition.lock()
        if lent { taken -= 1 }
        condition.broadcast()
        condition.unlock()
        pieces.waitForHelpers()
        if lent { take() }
    }

    private func help(_ pieces: Pieces) {
        condition.lock()
        waiting += 1
        while taken >= cores && pieces.remain { condition.wait() }
        waiting -= 1
        guard pieces.remain else {
            condition.unlock()
            pieces.helperEnded()
            return
        }
        taken += 1
        condition.unlock()
        Self.heldByThisThread = 1
        pieces.run()
        give()
        pieces.helperEnded()
    }

    /// One `perform`'s pieces, handed out in order to whichever thread asks next.
    private final class Pieces: @unchecked Sendable {
        let count: Int
        let work: (Int) -> Void
        private let next = Atomic<Int>(0)
        private let ended = NSCondition()
        /// Helpers not yet ended; guarded by `ended`.
        private var helpers: Int

        init(count: Int, work: @escaping (Int) -> Void, helpers: Int) {
            self.count = count
            self.work = work
            self.helpers = helpers
        }

        var remain: Bool { next.load(ordering: .relaxed) < count }

        func run() {
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < count else { return }
                work(index)
            }
        }

        func helperEnded() {
            ended.lock()
            helpers -= 1
            ended.broadcast()
            ended.unlock()
        }

        func waitForHelpers() {
            ended.lock()
            while helpers > 0 { ended.wait() }
            ended.unlock()
        }
    }
}
