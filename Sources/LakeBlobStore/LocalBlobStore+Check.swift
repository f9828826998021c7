import Crypto
import LakeModel
import LakeSystem

extension LocalBlobStore {
    public func check(_ id: String, expectedSize: Int64) -> BlobCheck {
        let file: ReadableFile
        do { file = try open(id) } catch let error as SystemError where error.isNotFound {
            return .missing
        } catch {
            return .corrupt("cannot be read: \(error)")
        }
        if file.size != expectedSize {
            return .corrupt("size is \(file.size) bytes, the catalog recorded \(expectedSize)")
        }
        var hasher = SHA256()
        do {
            try file.forEachChunk(chunkSize: 4 << 20) { hasher.update(bufferPointer: $0) }
        } catch {
            return .corrupt("cannot be read: \(error)")
        }
        let digest = Digest.hex(hasher.finalize())
        return digest == id ? .intact : .corrupt("content hashes to \(digest), not to its name")
    }
}

