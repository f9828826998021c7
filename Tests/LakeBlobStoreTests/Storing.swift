import LakeBlobStore

/// Stores `bytes` as one upload, written in uneven chunks that cross the parallel-hash threshold.
func put(_ store: any BlobStore, _ bytes: [UInt8], session: String) throws -> StoredBlob {
    let upload = try store.beginUpload(session: session)
    try bytes.withUnsafeBytes { raw in
        var offset = 0
        while offset < raw.count {   // uneven chunks, crossing the parallel-hash threshold
            let end = min(raw.count, offset + 300_000)
            try upload.write(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
            offset = end
        }
    }
    let stored = try store.withCommitGuard { try upload.commit() }
    upload.release()
    return stored
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { buffer in
        // Eight bytes a draw: a debug build drawing each byte alone took seconds for 20 MiB.
        var offset = 0
        while offset < count {
            var word = generator.next()
            let n = min(8, count - offset)
            withUnsafeBytes(of: &word) { buffer.baseAddress!.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: n) }
            offset += n
        }
    }
    return bytes
}
