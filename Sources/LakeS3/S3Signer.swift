import Crypto
import Foundation
import LakeBlobStore

/// AWS Signature Version 4 for S3 requests with path-style URLs (`http://host:port/bucket/key`),
/// the groundwork of the S3 blob store (issue 16). It encodes the path and query itself — every
/// byte outside `A–Z a–z 0–9 - . _ ~` as `%XX` — because Foundation's allowed-character sets leave
/// `+ = : @ ! $ & ' ( ) *` alone and the server then computes another signature; the caller sends
/// `target` exactly as signed. The signed `host` must carry a non-default port.
public struct S3Signer: Sendable {
    public var accessKey: String
    public var secretKey: String
    public var region: String

    public init(accessKey: String, secretKey: String, region: String = "us-east-1") {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.region = region
    }

    /// The SHA-256 of an empty body, and the marker for a body not signed.
    public static let emptyPayload = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    public struct Signed: Sendable, Equatable {
        /// The path and query to send, byte for byte as signed.
        public var target: String
        /// Every header to send: the caller's, `x-amz-date`, `x-amz-content-sha256` and `authorization`.
        public var headers: [String: String]
        public var canonicalRequest: String
        public var signature: String
    }

    /// Signs a request. `path` is unencoded (`/bucket/a key`); `headers` must hold `host`.
    public func sign(method: String, path: String, query: [(String, String)] = [], headers: [String: String],
                     payloadHash: String, date: Date = Date()) -> Signed {
        let stamp = Self.timestamp(date)
        let day = String(stamp.prefix(8))
        var all = Dictionary(headers.map { ($0.key.lowercased(), Self.trimmed($0.value)) }, uniquingKeysWith: { _, last in last })
        all["x-amz-date"] = stamp
        all["x-amz-content-sha256"] = payloadHash
        let names = all.keys.sorted()
        let canonicalURI = Self.encode(path, keepingSlash: true)
        let encoded: [(name: String, value: String)] = query.map { pair in
            (Self.encode(pair.0, keepingSlash: false), Self.encode(pair.1, keepingSlash: false))
        }
        let sortedQuery = encoded.sorted { a, b in a.name == b.name ? a.value < b.value : a.name < b.name }
        let canonicalQuery: String = sortedQuery.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
        let signedHeaders = names.joined(separator: ";")
        let headerLines: [String] = names.map { name in name + ":" + (all[name] ?? "") }
        let canonicalHeaders: String = headerLines.joined(separator: "\n") + "\n"
        let parts: [String] = [method, canonicalURI, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash]
        let canonicalRequest = parts.joined(separator: "\n")
        let scope = "\(day)/\(region)/s3/aws4_request"
        let toSign = ["AWS4-HMAC-SHA256", stamp, scope, Digest.hex(SHA256.hash(data: Data(canonicalRequest.utf8)))].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [day, region, "s3", "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = Digest.hex(HMAC<SHA256>.authenticationCode(for: Data(toSign.utf8), using: key))
        all["authorization"] = "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope),SignedHeaders=\(signedHeaders),Signature=\(signature)"
        return Signed(target: canonicalURI + (canonicalQuery.isEmpty ? "" : "?" + canonicalQuery), headers: all,
                      canonicalRequest: canonicalRequest, signature: signature)
    }

    /// RFC 3986 percent-encoding of the UTF-8 bytes, upper-case hex; `/` kept in paths.
    static func encode(_ text: String, keepingSlash: Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlash:
                out += "/"
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// Header values trimmed, inner runs of spaces made one (SigV4's canonical form).
    static func trimmed(_ value: String) -> String {
        value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }

    static func timestamp(_ date: Date) -> String {
        var time = time_t(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        return String(format: "%04d%02d%02dT%02d%02d%02dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                      parts.tm_hour, parts.tm_min, parts.tm_sec)
    }

}

private extension String {
    func leftPadded(to width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
