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
    return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
}
