import Foundation
import Synchronization
import Testing
@testable import LakeCore

/// The check a reader served by the daemon gets: pieces hashed in order on a thread of their
/// own, the verdict at the piece that reaches the end.
@Suite struct SequentialHashTests {
    static let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"   // SHA-256("abc")

    static func pseudoRandom(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 56)
        }
    }

    /// Feeds `bytes` in pieces of `piece` bytes; the outcomes, one per piece.
    static func feed(_ check: SequentialHash, _ bytes: [UInt8], piece: Int) -> [SequentialHash.Outcome] {
        stride(from: 0, to: max(bytes.count, 1), by: piece).map { start in
            check.feed(Array(bytes[start..<min(bytes.count, start + piece)]), at: Int64(start))
        }
    }

    @Test func piecesInOrderGiveTheVerdictAtTheEnd() {
        #expect(Self.feed(SequentialHash(blob: Self.abc, size: 3), Array("abc".utf8), piece: 1) == [.unknown, .unknown, .intact])
        guard case .corrupt(let other)? = Self.feed(SequentialHash(blob: Self.abc, size: 3), Array("abd".utf8), piece: 2).last else {
            Issue.record("a changed byte is not found")
            return
        }
        #expect(other != Self.abc && other.count == 64)
        // Whatever the pieces, the same bytes hash alike; one changed byte anywhere is found.
        let bytes = Self.pseudoRandom(3 << 20, seed: 11)
        guard case .corrupt(let name)? = Self.feed(SequentialHash(blob: "unknown", size: Int64(bytes.count)), bytes, piece: 1 << 20).last else {
            Issue.record("a wrong name is not reported")
            return
        }
        for piece in [4096, 131_072, 1_000_003, 3 << 20] {
            let outcomes = Self.feed(SequentialHash(blob: name, size: Int64(bytes.count)), bytes, piece: piece)
            #expect(outcomes.last == .intact && outcomes.dropLast().allSatisfy { $0 == .unknown }, "pieces of \(piece)")
        }
        for at in [0, 131_071, bytes.count - 1] {
            var damaged = bytes
            damaged[at] ^= 0x20
            #expect(Self.feed(SequentialHash(blob: name, size: Int64(bytes.count)), damaged, piece: 131_072).last != .intact, "byte \(at)")
        }
    }

    @Test func aPieceFarAheadOrFedWithoutItsGapEndsTheCheck() {
        let check = SequentialHash(blob: Self.abc, size: 3)
        #expect(check.wants(0, count: 1) && check.wants(1, count: 1), "a read a few reads ahead takes part")
        #expect(!check.wants(SequentialHash.largestGap + 1, count: 1 << 30))
        #expect(check.gap(before: 2) == 0..<2)
        #expect(check.feed(Array("c".utf8), at: 2) == .unknown, "fed without the bytes before it")
        #expect(!check.wants(0, count: 1))
        #expect(check.feed(Array("abc".utf8), at: 0) == .unknown, "once ended, the check proves nothing")
    }

    /// A small read far ahead (a reader skipping to a file's footer) is not part of the check,
    /// so its gap is not read; the check goes on when the reader comes back to where it stands.
    @Test func aSmallReadFarAheadIsLeftOutAndTheCheckWaits() {
        let bytes = Self.pseudoRandom(3 << 20, seed: 12)
        guard case .corrupt(let name)? = Self.feed(SequentialHash(blob: "unknown", size: Int64(bytes.count)), bytes, piece: bytes.count).last else {
            Issue.record("a wrong name is not reported")
            return
        }
        let check = SequentialHash(blob: name, size: Int64(bytes.count))
        #expect(check.feed(Array(bytes[0..<4096]), at: 0) == .unknown)
        #expect(!check.wants(1_900_000, count: 4096), "a footer read 1.9 MB ahead")
        #expect(check.wants(4096, count: 4096))
        let rest = stride(from: 4096, to: bytes.count, by: 1 << 20).map { start in
            check.feed(Array(bytes[start..<min(bytes.count, start + (1 << 20))]), at: Int64(start))
        }
        #expect(rest.last == .intact, "the check went on from where it stood")
    }

    /// A read that overtook the one before it: the caller feeds the gap, then its own bytes; the
    /// read behind, arriving after, finds its bytes hashed and is passed over; a damaged byte in
    /// the gap is still found, and every read after the verdict learns it.
    @Test func aReadThatOvertookTheOneBeforeFillsTheGap() {
        let bytes = Self.pseudoRandom(10_000, seed: 9)
        guard case .corrupt(let name)? = Self.feed(SequentialHash(blob: "unknown", size: 10_000), bytes, piece: 10_000).last else {
            Issue.record("a wrong name is not reported")
            return
        }
        for damagedAt in [nil, 4_500] {
            var served = bytes
            if let damagedAt { served[damagedAt] ^= 1 }
            let check = SequentialHash(blob: name, size: 10_000)
            #expect(check.feed(Array(served[0..<4_000]), at: 0) == .unknown)
            // The piece at 8,000 arrives before the one at 4,000 (and reaches the end).
            #expect(check.wants(8_000, count: 2_000) && check.gap(before: 8_000) == 4_000..<8_000)
            #expect(check.feed(Array(served[4_000..<8_000]), at: 4_000) == .unknown)
            let verdict = check.feed(Array(served[8_000...]), at: 8_000)
            // The late piece: hashed already.
            let late = check.feed(Array(served[4_000..<8_000]), at: 4_000)
            if damagedAt == nil {
                #expect(verdict == .intact && late == .intact)
            } else {
                guard case .corrupt = verdict, case .corrupt = late else {
                    Issue.record("damage in the gap was not found: \(verdict), \(late)")
                    continue
                }
                #expect(check.wants(0, count: 1), "reads after the verdict of damage still ask")
            }
        }
        // Overlapping pieces: only the bytes past the check's position are hashed.
        let check = SequentialHash(blob: name, size: 10_000)
        #expect(check.feed(Array(bytes[0..<6_000]), at: 0) == .unknown)
        #expect(check.feed(Array(bytes[4_000..<10_000]), at: 4_000) == .intact)
    }

    /// Pieces given to two threads that feed them as they come, in whichever order the threads
    /// get there, filling gaps from the blob's bytes as the daemon's reads do: always the right
    /// verdict.
    @Test func piecesRacingOnTwoThreadsWithGapsFilledGiveTheVerdict() {
        let piece = 4096, pieces = 200
        let bytes = Self.pseudoRandom(pieces * piece, seed: 11)
        guard case .corrupt(let name)? = Self.feed(SequentialHash(blob: "unknown", size: Int64(bytes.count)), bytes, piece: bytes.count).last else {
            Issue.record("a wrong name is not reported")
            return
        }
        for round in 0..<40 {
            var served = bytes
            let damaged = round % 2 == 1
            if damaged { served[(round * 7_919) % served.count] ^= 0x10 }
            let source = served
            let check = SequentialHash(blob: name, size: Int64(bytes.count))
            let verdicts = Mutex<[SequentialHash.Outcome]>([])
            let done = DispatchSemaphore(value: 0)
            for turn in 0..<2 {
                Thread.detachNewThread {
                    for index in stride(from: turn, to: pieces, by: 2) {
                        let offset = index * piece
                        guard check.wants(Int64(offset), count: piece) else { continue }
                        if let gap = check.gap(before: Int64(offset)) {
                            let filled = check.feed(Array(source[Int(gap.lowerBound)..<Int(gap.upperBound)]), at: gap.lowerBound)
                            verdicts.withLock { $0.append(filled) }
                        }
                        let outcome = check.feed(Array(source[offset..<(offset + piece)]), at: Int64(offset))
                        verdicts.withLock { $0.append(outcome) }
                    }
                    done.signal()
                }
            }
            done.wait()
            done.wait()
            let seen = verdicts.withLock { $0 }
            let corrupt = seen.contains { if case .corrupt = $0 { true } else { false } }
            #expect(damaged ? corrupt && !seen.contains(.intact) : seen.contains(.intact) && !corrupt, "round \(round)")
        }
    }

    /// The kernel's readahead sends a file's reads two at a time, to two threads of the daemon:
    /// each piece is fed the moment the one before it was taken, from the other thread, and
    /// the verdict must still be the blob's. (A first version queued each piece after letting go
    /// of its place in line, and took an intact blob for a damaged one once in about 1,400 files read.)
    @Test func piecesFedFromTwoThreadsInTurnAreHashedInOrder() {
        let piece = 512
        let bytes = Self.pseudoRandom(400 * piece, seed: 5)
        guard case .corrupt(let name)? = Self.feed(SequentialHash(blob: "unknown", size: Int64(bytes.count)), bytes, piece: piece).last else {
            Issue.record("a wrong name is not reported")
            return
        }
        for _ in 0..<30 {
            let check = SequentialHash(blob: name, size: Int64(bytes.count))
            let verdicts = Mutex<[SequentialHash.Outcome]>([])
            let done = DispatchSemaphore(value: 0)
            // Threads of their own, not tasks: each spins until its piece's turn, and two
            // spinning tasks could hold every thread of the shared pool.
            for turn in 0..<2 {
                Thread.detachNewThread {
                    var last = SequentialHash.Outcome.unknown
                    for index in stride(from: turn, to: 400, by: 2) {
                        let offset = index * piece
                        while check.hashedUpTo != Int64(offset) {}   // the piece before has been taken
                        last = check.feed(Array(bytes[offset..<(offset + piece)]), at: Int64(offset))
                    }
                    verdicts.withLock { $0.append(last) }
                    done.signal()
                }
            }
            done.wait()
            done.wait()
            let seen = verdicts.withLock { $0 }
            #expect(seen.contains(.intact) && !seen.contains { if case .corrupt = $0 { true } else { false } })
        }
    }

    /// A reader faster than the hash (pages in memory) waits rather than queueing the file.
    @Test func theBacklogStaysBounded() {
        let piece = 1 << 20
        let bytes = Self.pseudoRandom(piece, seed: 3)
        let check = SequentialHash(blob: "unknown", size: Int64(64 * piece))
        for i in 0..<63 {
            #expect(check.feed(bytes, at: Int64(i * piece)) == .unknown)
            #expect(check.queuedBytes <= SequentialHash.backlogLimit + piece)
        }
    }
}
