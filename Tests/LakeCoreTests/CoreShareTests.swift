#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LakeSystem
import Synchronization
import Testing

/// `CoreShare`: pieces of work spread over the cores free, never over more, helpers joining as
/// a core frees, at the priority of the thread that asked. Every wait is bounded: a failure is a
/// failed expectation, not a hang.
@Suite struct CoreShareTests {
    /// Waits up to `seconds` for `condition`; whether it held.
    func eventually(_ seconds: Double = 30, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > deadline { return false }
            sched_yield()
        }
        return true
    }

    /// Runs `body` on a thread of its own and waits (bounded) for it to return.
    func onThread(_ body: @escaping @Sendable () -> Void) -> Bool {
        let done = DispatchSemaphore(value: 0)
        Thread { body(); done.signal() }.start()
        return done.wait(timeout: .now() + 60) == .success
    }

    @Test func everyPieceRunsOnceAndNeverOnMoreThreadsThanCores() {
        let share = CoreShare(cores: 3)
        let runs = Mutex([Int](repeating: 0, count: 500))
        let active = Atomic<Int>(0), most = Atomic<Int>(0)
        let threads = Mutex(Set<UInt>())
        share.perform(500) { index in
            let now = active.add(1, ordering: .relaxed).newValue
            _ = most.max(now, ordering: .relaxed)
            threads.withLock { _ = $0.insert(UInt(bitPattern: Int(bitPattern: pthread_self()))) }
            runs.withLock { $0[index] += 1 }
            for _ in 0..<2_000 { sched_yield() }
            active.subtract(1, ordering: .relaxed)
        }
        let counts = runs.withLock { $0 }, highest = most.load(ordering: .relaxed)
        #expect(counts.allSatisfy { $0 == 1 })
        #expect(highest <= 3)
        #expect(threads.withLock { $0.count } <= 3)
        #expect(share.takenCores == 0)
    }

    /// With both cores held (the caller's and an MD5's), the helper waits; it joins once the
    /// other core is given back.
    @Test func aHelperWaitsForAFreeCoreAndJoinsWhenOneFrees() {
        let share = CoreShare(cores: 2)
        let release = DispatchSemaphore(value: 0), holding = DispatchSemaphore(value: 0)
        Thread {
            share.occupy {
                holding.signal()
                _ = release.wait(timeout: .now() + 60)
            }
        }.start()
        #expect(holding.wait(timeout: .now() + 60) == .success)
        let caller = pthread_self()
        let othersBeforeRelease = Atomic<Int>(-1), others = Atomic<Int>(0)
        let joined = Atomic<Bool>(false)
        share.occupy {
            share.perform(4) { index in
                if pthread_equal(pthread_self(), caller) == 0 { others.add(1, ordering: .relaxed) }
                guard index == 0 else { return }
                // Only the caller can be here: the helper has no core to run on, and waits.
                _ = eventually { share.waitingHelpers == 1 || others.load(ordering: .relaxed) > 0 }
                othersBeforeRelease.store(others.load(ordering: .relaxed), ordering: .relaxed)
                release.signal()
                joined.store(eventually { others.load(ordering: .relaxed) > 0 }, ordering: .relaxed)
            }
        }
        let before = othersBeforeRelease.load(ordering: .relaxed), helped = joined.load(ordering: .relaxed)
        #expect(before == 0)
        #expect(helped, "no helper joined once a core was free")
        #expect(share.takenCores == 0)
    }

    /// The daemon's processing runs at nice 10: its helpers must not run at 0 beside the
    /// mount's requests.
    @Test func helpersRunAtTheCallersPriority() {
        let share = CoreShare(cores: 2)
        let priorities = Mutex([Int32]())
        let threads = Mutex(Set<UInt>())
        let finished = onThread {
            ThreadPriority.lowerCurrent(to: 10)
            share.perform(2) { _ in
                // Linux keeps nice values per thread; 0 names the calling one.
                let mine = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
                priorities.withLock { $0.append(mine) }
                threads.withLock { _ = $0.insert(UInt(bitPattern: Int(bitPattern: pthread_self()))) }
                // Both pieces in flight at once, so one of them is the helper's.
                _ = eventually { threads.withLock { $0.count } == 2 }
            }
        }
        #expect(finished)
        #expect(threads.withLock { $0.count } == 2, "the helper never ran a piece")
        #expect(priorities.withLock { $0 } == [10, 10])
    }

    /// A piece that itself performs pieces gets a second thread once the caller has nothing left
    /// but to wait: the caller lends its core (the points of a file checked in pieces beside the
    /// fields' statistics, which ended first).
    @Test func aWaitingCallerLendsItsCore() {
        let share = CoreShare(cores: 2)
        let caller = pthread_self()
        let outerHelperStarted = Atomic<Bool>(false)
        let innerThreads = Mutex(Set<UInt>())
        let innerBoth = Atomic<Bool>(false)
        share.occupy {
            share.perform(2) { _ in
                // Roles go by thread, not by index: a helper that starts before the caller takes
                // its first piece takes piece 0 (CI, on a loaded machine, saw exactly that).
                if pthread_equal(pthread_self(), caller) != 0 {
                    // Keep the other piece for the helper.
                    _ = eventually { outerHelperStarted.load(ordering: .relaxed) }
                    return
                }
                outerHelperStarted.store(true, ordering: .relaxed)
                share.perform(2) { _ in
                    innerThreads.withLock { _ = $0.insert(UInt(bitPattern: Int(bitPattern: pthread_self()))) }
                    let both = eventually(10) { innerThreads.withLock { $0.count } == 2 }
                    if both { innerBoth.store(true, ordering: .relaxed) }
                }
            }
        }
        let started = outerHelperStarted.load(ordering: .relaxed), both = innerBoth.load(ordering: .relaxed)
        #expect(started)
        #expect(both, "the inner pieces ran on one thread: the waiting caller kept its core")
        #expect(share.takenCores == 0)
    }

    /// No thread to be had (a thread limit): the caller does every piece and returns.
    @Test func withoutHelperThreadsTheCallerDoesEveryPiece() {
        let share = CoreShare(cores: 4) { _ in false }
        let runs = Mutex([Int](repeating: 0, count: 64))
        let others = Atomic<Int>(0)
        // On a thread of its own: a perform waiting for helpers that never started would hang.
        let returned = onThread {
            let caller = pthread_self()
            share.perform(64) { index in
                runs.withLock { $0[index] += 1 }
                if pthread_equal(pthread_self(), caller) == 0 { others.add(1, ordering: .relaxed) }
            }
        }
        #expect(returned)
        let counts = runs.withLock { $0 }, elsewhere = others.load(ordering: .relaxed)
        #expect(counts.allSatisfy { $0 == 1 })
        #expect(elsewhere == 0)
        #expect(share.takenCores == 0)
    }

    /// A daemon runs for weeks: a helper that never got a core (both held the whole time) must
    /// still end once the pieces are gone, or each `perform` would leave a thread waiting for ever.
    @Test func helpersThatNeverGotACoreEndWithTheirPerform() {
        let live = Atomic<Int>(0), started = Atomic<Int>(0)
        let share = CoreShare(cores: 2) { body in
            DetachedThread.start("lake-helper") {
                started.add(1, ordering: .relaxed)
                live.add(1, ordering: .relaxed)
                body()
                live.subtract(1, ordering: .relaxed)
            }
        }
        // Both cores held by others, the caller holding none (so it has none to lend either).
        let release = DispatchSemaphore(value: 0), holding = DispatchSemaphore(value: 0)
        for _ in 0..<2 {
            Thread { share.occupy { holding.signal(); _ = release.wait(timeout: .now() + 120) } }.start()
            #expect(holding.wait(timeout: .now() + 60) == .success)
        }
        let done = onThread {
            for _ in 0..<100 {
                // The helper is waiting for a core before the pieces run out.
                share.perform(3) { index in if index == 0 { _ = eventually(10) { share.waitingHelpers == 1 } } }
            }
        }
        release.signal()
        release.signal()
        #expect(done)
        let ended = eventually { live.load(ordering: .relaxed) == 0 }
        let made = started.load(ordering: .relaxed)
        #expect(made > 0 && ended, "\(live.load(ordering: .relaxed)) of \(made) helpers still running")
        // The other core's holder lets go once released.
        #expect(share.waitingHelpers == 0 && eventually { share.takenCores == 0 })
    }
}
