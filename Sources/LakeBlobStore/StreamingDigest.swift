import Crypto
import Dispatch

/// SHA-256 and MD5 of a stream, computed side by side on two cores so hashing keeps up with
/// the disk. `extra` runs beside the MD5 (the caller's write of the same chunk).
final class StreamingDigest: @unchecked Sendable {
    private var sha = SHA256()
    private var md5 = Insecure.MD5()

    func update(_ bytes: UnsafeRawBufferPointer, alongside extra: () throws -> Void) throws {
        // Small chunks are not worth a thread hand-off.
        if bytes.count < 256 * 1024 {
            sha.update(bufferPointer: bytes)
            md5.update(bufferPointer: bytes)
            try extra()
            return
        }
        var failure: (any Error)?
        withoutActuallyEscaping(extra) { extra in
            let lanes = Lanes(self, bytes, extra)
            DispatchQueue.concurrentPerform(iterations: 2) { lane in lanes.run(lane) }
            failure = lanes.failure
        }
        if let failure { throw failure }
    }

    func finish() -> (sha256: String, md5: String) {
        (hex(sha.finalize()), hex(md5.finalize()))
    }

    private func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The two lanes of one chunk; each touches its own state only.
    private final class Lanes: @unchecked Sendable {
        let owner: StreamingDigest
        let bytes: UnsafeRawBufferPointer
        let extra: () throws -> Void
        var failure: (any Error)?

        init(_ owner: StreamingDigest, _ bytes: UnsafeRawBufferPointer, _ extra: @escaping () throws -> Void) {
            self.owner = owner
            self.bytes = bytes
            self.extra = extra
        }

        func run(_ lane: Int) {
            if lane == 0 {
                owner.sha.update(bufferPointer: bytes)
            } else {
                owner.md5.update(bufferPointer: bytes)
                do { try extra() } catch { failure = error }
            }
        }
    }
}
