import Foundation
import LakeSystem
import LakeTestSupport
import Testing
@testable import LakeFS

/// The blob descriptors a mount keeps between opens: bounded, the least recently used dropped
/// first, and never handed out for a file that is no longer the blob's or no longer its size.
@Suite struct OpenFilesTests {
    /// Blob files of `count` bytes each, by id.
    func blobs(_ directory: TemporaryDirectory, _ count: Int) -> [String: String] {
        Dictionary(uniqueKeysWithValues: (0..<count).map { index in
            ("blob\(index)", directory.writeRandom("blob\(index)", size: 100 + index, seed: UInt64(index + 1)))
        })
    }

    @Test func keptDescriptorsStayBoundedAndTheUsedOnesStay() throws {
        let directory = TemporaryDirectory()
        let paths = blobs(directory, 40)
        let files = OpenFiles(descriptorsKept: 8)
        var opened = 0
        func source(_ index: Int) throws -> OpenFiles.Source {
            try files.blobSource("blob\(index)", size: Int64(100 + index), check: {}, open: {
                opened += 1
                return try ReadableFile(path: paths["blob\(index)"]!)
            })
        }
        for index in 0..<8 { _ = try source(index) }
        #expect(opened == 8 && files.descriptorsCached == 8)
        // Blob 0 used again and again while 30 others pass through: it stays kept, the rest go.
        for index in 8..<38 {
            _ = try source(0)
            _ = try source(index)
        }
        #expect(files.descriptorsCached == 8)
        #expect(opened == 38, "blob 0 was opened once, not again: \(opened)")
    }

    /// `lake gc` removes blobs a mount keeps open: the sweep lets go of those (their space is
    /// then freed), and of nothing else; a handle still open keeps reading its file.
    @Test func keptDescriptorsOfRemovedFilesAreLetGo() throws {
        let directory = TemporaryDirectory()
        let paths = blobs(directory, 4)
        let files = OpenFiles(descriptorsKept: 8)
        var handles: [String: UInt64] = [:]
        for index in 0..<4 {
            let id = "blob\(index)"
            let source = try files.blobSource(id, size: Int64(100 + index), check: {}, open: { try ReadableFile(path: paths[id]!) })
            handles[id] = files.add(source)
        }
        #expect(files.releaseRemoved() == 0, "nothing removed, nothing let go")
        #expect(unlink(paths["blob1"]!) == 0 && unlink(paths["blob2"]!) == 0)
        #expect(files.releaseRemoved() == 2 && files.descriptorsCached == 2)
        #expect(files.releaseRemoved() == 0)
        // Blob 1's open handle still reads the removed file, as any open file would.
        guard case .blob(let file, _) = files.get(handles["blob1"]!) else { Issue.record("not a blob"); return }
        #expect(try file.bytes(at: 0, count: 101).count == 101)
        // Blob 2 stored again: the next open takes the new file.
        var opened = 0
        _ = directory.writeRandom("blob2", size: 102, seed: 3)
        _ = try files.blobSource("blob2", size: 102, check: {}, open: { opened += 1; return try ReadableFile(path: paths["blob2"]!) })
        #expect(opened == 1)
    }

    @Test func aKeptDescriptorOfAFileRemovedOrResizedIsNotUsed() throws {
        let directory = TemporaryDirectory()
        let paths = blobs(directory, 2)
        let files = OpenFiles(descriptorsKept: 8)
        var checks: [String] = []
        func source(_ id: String, size: Int64) throws -> OpenFiles.Source {
            try files.blobSource(id, size: size, check: { () throws(FSError) in checks.append(id) },
                                 open: { try ReadableFile(path: paths[id]!) })
        }
        _ = try source("blob0", size: 100)
        _ = try source("blob1", size: 101)
        #expect(checks == ["blob0", "blob1"], "a blob opened for the first time is checked")
        _ = try source("blob0", size: 100)
        _ = try source("blob1", size: 101)
        #expect(checks.count == 2, "a kept descriptor of the same file and size is used as it is")
        // Cut short: the kept descriptor shows the new size, so the guard looks again.
        #expect(truncate(paths["blob1"]!, 50) == 0)
        _ = try? source("blob1", size: 101)
        #expect(checks.last == "blob1" && checks.count == 3)
        // Replaced by another file under the same name: the kept one is unlinked, the new one opened.
        let replacement = directory.writeRandom("new", size: 100, seed: 9)
        #expect(rename(replacement, paths["blob0"]!) == 0)
        guard case .blob(let file, _) = try source("blob0", size: 100) else { Issue.record("not a blob"); return }
        #expect(checks.last == "blob0" && checks.count == 4)
        var info = stat()
        #expect(fstat(file.descriptor, &info) == 0 && info.st_nlink == 1)
        // A guard that refuses (damage recorded) means no source at all.
        #expect(throws: FSError.self) {
            try files.blobSource("blob1", size: 101, check: { () throws(FSError) in throw .io("damaged") }, open: { try ReadableFile(path: paths["blob1"]!) })
        }
    }

    /// A bucket store's node cache cannot free a blob held open: large ones are kept within a
    /// byte budget, however few they are (the newest always kept).
    @Test func largeBlobsAreKeptWithinAByteBudget() throws {
        let directory = TemporaryDirectory()
        let size = OpenFiles.bytesKept / 3 + 1
        let paths = (0..<5).map { index -> String in
            let path = directory.file("large\(index)")
            #expect(FileManager.default.createFile(atPath: path, contents: nil) && truncate(path, off_t(size)) == 0)
            return path
        }
        let files = OpenFiles(descriptorsKept: 100)
        for (index, path) in paths.enumerated() {
            _ = try files.blobSource("large\(index)", size: size, check: {}, open: { try ReadableFile(path: path) })
            #expect(files.descriptorsCached <= 2, "three of a third of the budget and a byte are over it")
        }
        let huge = directory.file("huge")
        #expect(FileManager.default.createFile(atPath: huge, contents: nil) && truncate(huge, off_t(2 * OpenFiles.bytesKept)) == 0)
        _ = try files.blobSource("huge", size: 2 * OpenFiles.bytesKept, check: {}, open: { try ReadableFile(path: huge) })
        #expect(files.descriptorsCached == 1, "one larger than the budget is kept alone")
    }

    @Test func theDescriptorsKeptFollowTheProcessLimit() {
        #expect(OpenFiles.descriptorsKept(limit: 1024) == 256)
        #expect(OpenFiles.descriptorsKept(limit: 20_000) == 4096)
        #expect(OpenFiles.descriptorsKept(limit: 100) == 64)
    }
}
