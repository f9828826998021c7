import Foundation
import Glibc
import Logging
import Synchronization
import Testing
@testable import LakeFuse

/// The daemon's bookkeeping of passthrough backing files: one per inode, kept between opens, the
/// least recently closed given back past the limit. The kernel's side is counted here (a backing
/// file can only be registered on a mounted connection; the mount tests do that for real).
@Suite struct PassthroughFilesTests {
    final class Kernel: Sendable {
        let log = Mutex((next: Int32(0), unregistered: [Int32]()))
        var registrations: Int32 { log.withLock { $0.next } }
        var unregistered: [Int32] { log.withLock { $0.unregistered } }
        var passthrough: PassthroughFiles.Kernel {
            PassthroughFiles.Kernel(enabled: { true },
                                    register: { _ in self.log.withLock { $0.next += 1; return $0.next } },
                                    unregister: { id in self.log.withLock { $0.unregistered.append(id) } })
        }
    }

    /// Any open descriptor will do: the files are told apart by device and inode.
    static func descriptor() -> Int32 { open("/dev/null", O_RDONLY) }

    /// A training loader reading the same 2,000 files epoch after epoch through the read-write
    /// mount: every open after the first epoch reuses its inode's backing, and the eviction order
    /// stays bounded. It used to gain an entry per close, and once it held 16,384 every close
    /// scanned all of them: a warm pass over 2,000 small files went from 73 to 635 µs per file
    /// within 14 epochs (and on).
    @Test func epochAfterEpochReusesBackingsAndStaysBounded() throws {
        let kernel = Kernel()
        let files = PassthroughFiles(logger: Logger(label: "test"), kernel: kernel.passthrough)
        let fd = Self.descriptor()
        defer { close(fd) }
        var handle: UInt64 = 0
        var most = 0
        for _ in 0..<50 {
            for node in UInt64(1)...2_000 {
                handle += 1
                #expect(files.acquire(node: node, handle: handle, descriptor: fd) != nil)
                files.release(handle)
            }
            most = max(most, files.idle.entriesKept)
        }
        #expect(kernel.registrations == 2_000 && kernel.unregistered.isEmpty, "one backing per inode, kept")
        #expect(files.idle.backings == 2_000 && files.opens == 100_000)
        #expect(most <= 2 * 2_000 + 1, "the eviction order peaked at \(most) entries for 2,000 backings")
    }

    /// Past the limit the backing closed longest ago goes, not one closed again since.
    @Test func theLeastRecentlyClosedBackingGoesFirst() throws {
        let kernel = Kernel()
        let files = PassthroughFiles(logger: Logger(label: "test"), kernel: kernel.passthrough, idleLimit: 100)
        let fd = Self.descriptor()
        defer { close(fd) }
        var handle: UInt64 = 0
        var ids: [UInt64: Int32] = [:]
        func read(_ node: UInt64) {
            handle += 1
            ids[node] = files.acquire(node: node, handle: handle, descriptor: fd)
            files.release(handle)
        }
        for node in UInt64(1)...100 { read(node) }
        read(1)
        read(101)
        #expect(kernel.unregistered == [ids[2]!], "node 2 was closed longest ago; node 1 was closed again since")
        read(1)
        #expect(kernel.registrations == 101, "node 1 kept its backing")
        // An open handle keeps its backing however old: node 3 stays open while 150 others pass.
        handle += 1
        let open3 = handle
        #expect(files.acquire(node: 3, handle: open3, descriptor: fd) == ids[3])
        for node in UInt64(200)..<350 { read(node) }
        #expect(!kernel.unregistered.contains(ids[3]!))
        files.release(open3)
        #expect(files.idle.backings == 100)
        files.forget(3)
        #expect(kernel.unregistered.last == ids[3]!, "a forgotten inode's unused backing goes at once")
    }

    /// A blob removed while its inode keeps a backing (a node cache dropping it, `lake gc`): the
    /// unused backing is given back and the daemon's descriptor of it closed, so the file's space
    /// is freed; one in use goes once released; one whose file is still there stays.
    @Test func backingsOfRemovedFilesAreGivenBackOnceUnused() throws {
        let kernel = Kernel()
        let files = PassthroughFiles(logger: Logger(label: "test"), kernel: kernel.passthrough, idleLimit: 100)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("backings-\(getpid())-\(UInt64.random(in: 0...UInt64.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = (1...3).map { "\(directory)/blob\($0)" }
        for path in paths { FileManager.default.createFile(atPath: path, contents: Data("bytes".utf8)) }
        // Descriptors of this test's files (other tests of the process open their own meanwhile).
        func openDescriptors() -> Int {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            return fds.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) ?? "").hasPrefix(directory) }.count
        }
        let before = 0
        var ids: [UInt64: Int32] = [:]
        for (index, path) in paths.enumerated() {
            let fd = open(path, O_RDONLY)
            ids[UInt64(index + 1)] = files.acquire(node: UInt64(index + 1), handle: UInt64(index + 1), descriptor: fd)
            close(fd)
        }
        files.release(1)
        files.release(3)
        #expect(files.registered == 3 && openDescriptors() == before + 3, "each backing keeps a descriptor of its own")
        #expect(files.releaseRemoved() == 0)
        #expect(unlink(paths[0]) == 0 && unlink(paths[1]) == 0)
        #expect(files.releaseRemoved() == 1 && kernel.unregistered == [ids[1]!], "node 2's backing is in use")
        files.release(2)
        #expect(files.releaseRemoved() == 1 && kernel.unregistered == [ids[1]!, ids[2]!])
        #expect(files.registered == 1 && openDescriptors() == before + 1, "the removed files' descriptors are closed")
        files.forget(3)
        #expect(openDescriptors() == before)
    }
}
