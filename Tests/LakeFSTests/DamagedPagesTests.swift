import Foundation
import LakeTestSupport
import Synchronization
import Testing
@testable import LakeFS

/// An inode a read found damaged refuses reads — its reader's retries included — until its
/// pages have been dropped and a reader starts again from the start; other inodes read on.
@Suite struct DamagedPagesTests {
    @Test func aMarkedInodeReadsAgainOnlyFromTheStartOnceItsPagesAreGone() throws {
        let pages = DamagedPages()
        // Not mounted (no thread to drop pages): nothing is marked, nothing refused for good.
        pages.add(7)
        #expect(pages.admits(7, at: 4096) && pages.count == 0)

        let dropping = Mutex(false)
        let dropped = Mutex<[UInt64]>([])
        try pages.start { node in
            // The kernel's invalidation, held back until the test lets it run.
            while dropping.withLock({ !$0 }) { usleep(1000) }
            dropped.withLock { $0.append(node) }
        }
        defer { pages.stop() }
        pages.add(7)
        #expect(!pages.admits(7, at: 65536), "the reader's retry of the part that failed")
        #expect(!pages.admits(7, at: 0), "a read from the start before the pages are gone would find damaged ones cached")
        #expect(pages.admits(8, at: 65536), "another inode reads on")
        dropping.withLock { $0 = true }
        #expect(LakeTestSupport.eventually(30) { dropped.withLock { $0 } == [7] })
        #expect(!pages.admits(7, at: 65536), "a read from the middle still refused once the pages are gone")
        #expect(pages.admits(7, at: 0) && pages.admits(7, at: 65536), "a reader from the start lets reads through again")
        #expect(pages.count == 0)
    }
}
