import Crypto
import Foundation
import LakeModel
import LakeBlobStore
import LakeSystem

/// A small, blocking S3 client for one bucket, path-style (`endpoint/bucket/key`), signing its
/// own requests (`S3Signer`): what the S3 blob store needs and no more — put (once, with
/// `If-None-Match: *`; multipart above `multipartThreshold`), get (whole or a range, into memory
/// or a file), head, delete and list. Requests that fail with a 5xx, 429 or a transport error are
/// retried with backoff. libcurl carries the requests (`HTTPTransport`: http and https, loaded
/// only when a request is made), which costs no build time.
public final class S3Client: Sendable {
    public let endpoint: String
    public let bucket: String
    let signer: S3Signer
    let host: String
    let attempts = 4
    public static let partSize = 8 << 20
    public static let multipartThreshold: Int64 = 16 << 20
    /// Parts of one multipart upload sent at once (`PartSenders`).
    static let partsInFlight = 4

    public struct Failure: Error, CustomStringConvertible {
        public var status: Int
        public var method: String
        public var key: String
        public var body: String
        /// Whether trying again may succeed: no response came, the server failed, or it is busy.
        public var mayPass: Bool { status == 0 || status >= 500 || status == 429 }

        public var description: String {
            // Status 0: no HTTP response came (the body says why).
            if status == 0 { return "S3 \(method) \(key): \(body)" }
            let code = Self.element("Code", in: body) ?? ""
            return "S3 \(method) \(key): HTTP \(status)\(code.isEmpty ? "" : " \(code)")\(Self.element("Message", in: body).map { ": \($0)" } ?? "")"
        }
        static func element(_ name: String, in xml: String) -> String? { S3Client.elements(name, in: xml).first }
    }

    public struct Response: Sendable {
        public var status: Int
        public var body: Data
        public var headers: [String: String]
    }

    /// `endpoint` is `scheme://host[:port]` (no path).
    public init(endpoint: String, bucket: String, signer: S3Signer) {
        self.endpoint = endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint
        self.bucket = bucket
        self.signer = signer
        host = URL(string: endpoint).map { url in url.host.map { $0 + (url.port.map { ":\($0)" } ?? "") } ?? "" } ?? ""
    }

    // MARK: operations

    /// Makes the bucket; one that exists already (ours) is fine.
    public func createBucket() throws {
        let response = try request("PUT", path: "/\(bucket)")
        if response.status == 200 || response.status == 409 { return }
        // A server may fail the PUT of a bucket that exists, or that another node is making at
        // that moment (SeaweedFS once answered 404 NoSuchBucket to one, under a test suite's
        // load): a bucket that is there when asked is made.
        if (try? request("HEAD", path: "/\(bucket)"))?.status == 200 { return }
        throw failure(response, "PUT", bucket)
    }

    /// Stores `data` at `key` unless something is there already: false then (content-addressed
    /// keys never change, so what is there is the same). With `sha256` (a blob's name), the
    /// bytes must hash to it or nothing is sent (`verified`).
    @discardableResult
    public func put(_ key: String, data: Data, sha256 expected: String? = nil) throws -> Bool {
        let digest = Digest.hex(SHA256.hash(data: data))
        try verified(digest, expected)
        let response = try request("PUT", path: path(key), body: data, headers: ["If-None-Match": "*"], payloadHash: digest)
        if response.status == 412 { return false }
        guard response.status == 200 else { throw failure(response, "PUT", key) }
        return true
    }

    /// Stores a file at `key` (in parts of `partSize` above `multipartThreshold`), unless
    /// something is there already: false then. With `sha256`, the bytes read must hash to it or
    /// the upload is not completed (`verified`).
    @discardableResult
    public func put(_ key: String, file: ReadableFile, sha256 expected: String? = nil) throws -> Bool {
        if file.size <= Self.multipartThreshold {
            return try put(key, data: Data(try file.bytes(at: 0, count: Int(file.size))), sha256: expected)
        }
        if try head(key) != nil { return false }
        let created = try request("POST", path: path(key), query: [("uploads", "")])
        guard created.status == 200, let upload = Self.elements("UploadId", in: String(decoding: created.body, as: UTF8.self)).first else {
            throw failure(created, "POST ?uploads", key)
        }
        do {
            let senders = PartSenders(workers: Self.partsInFlight) { [self] number, body in
                let response = try request("PUT", path: path(key), query: [("partNumber", String(number)), ("uploadId", upload)], body: body)
                guard response.status == 200, let etag = response.headers["etag"] else { throw failure(response, "PUT part", key) }
                return etag
            }
            var offset: Int64 = 0
            var number = 1
            var whole = SHA256()
            var readFailure: (any Error)?
            while offset < file.size {
                let count = Int(min(Int64(Self.partSize), file.size - offset))
                let part: Data
                do { part = Data(try file.bytes(at: offset, count: count)) } catch { readFailure = error; break }
                whole.update(data: part)
                guard senders.add(number, part) else { break }
                offset += Int64(count)
                number += 1
            }
            // Every send has ended before anything is thrown: the abort below must come last.
            let etags = try senders.finish()
            if let readFailure { throw readFailure }
            try verified(Digest.hex(whole.finalize()), expected)
            let parts = etags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\($0.element)</ETag></Part>" }.joined()
            let done = try request("POST", path: path(key), query: [("uploadId", upload)],
                                   body: Data("<CompleteMultipartUpload>\(parts)</CompleteMultipartUpload>".utf8))
            // A completion can fail inside a 200 (S3 says so in the body).
            guard done.status == 200, !String(decoding: done.body, as: UTF8.self).contains("<Error>") else { throw failure(done, "POST complete", key) }
            return true
        } catch {
            _ = try? request("DELETE", path: path(key), query: [("uploadId", upload)])
            throw error
        }
    }

    /// The bytes about to become a blob's in the bucket are the blob's. They were hashed as they
    /// were spooled, then read back from the node's copy to be sent: a copy damaged in between
    /// (the disk, another writer) would otherwise become the bucket's — the copy every node
    /// trusts — under the blob's name, and the file would be lost everywhere.
    private func verified(_ digest: String, _ expected: String?) throws {
        guard let expected, digest != expected else { return }
        throw BlobStoreError.corruptBlob(id: expected, actual: digest)
    }

    /// The object's bytes (those in `range` when given), or nil when there is none.
    public func get(_ key: String, range: Range<Int64>? = nil) throws -> Data? {
        let headers = range.map { ["Range": "bytes=\($0.lowerBound)-\($0.upperBound - 1)"] } ?? [:]
        let response = try request("GET", path: path(key), headers: headers)
        if response.status == 404 { return nil }
        guard response.status == (range == nil ? 200 : 206) else { throw failure(response, "GET", key) }
        return response.body
    }

    /// Gives the bytes in `range` of `key` to `sink` as they arrive, in one request and one
    /// attempt (the sink has taken bytes: the caller decides how to try again, see
    /// `Failure.mayPass`); false when there is no such object.
    public func stream(_ key: String, range: Range<Int64>, into sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        let headers = ["Range": "bytes=\(range.lowerBound)-\(range.upperBound - 1)"]
        // Only a 206 is the range: a 200 would be the whole object from its first byte.
        let response = try withoutActuallyEscaping(sink) { sink in
            try once("GET", path: path(key), query: [], body: Data(), headers: headers, timeoutSeconds: 0, sink: sink, sinkStatus: 206)
        }
        if response.status == 404 { return false }
        guard response.status == 206 else { throw failure(response, "GET", key) }
        return true
    }

    /// The object's size, or nil when there is none.
    public func head(_ key: String) throws -> Int64? {
        let response = try request("HEAD", path: path(key))
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw failure(response, "HEAD", key) }
        return response.headers["content-length"].flatMap { Int64($0) }
    }

    public func delete(_ key: String) throws {
        let response = try request("DELETE", path: path(key))
        guard response.status == 204 || response.status == 200 || response.status == 404 else { throw failure(response, "DELETE", key) }
    }

    /// Every key under `prefix` with its size and when it was stored (nil if the server did not
    /// say), a thousand per request.
    public func list(prefix: String) throws -> [(key: String, size: Int64, modified: Timestamp?)] {
        var found: [(key: String, size: Int64, modified: Timestamp?)] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let response = try request("GET", path: "/\(bucket)", query: query)
            guard response.status == 200 else { throw failure(response, "GET ?list-type=2", prefix) }
            let xml = String(decoding: response.body, as: UTF8.self)
            for item in Self.elements("Contents", in: xml) {
                guard let key = Self.elements("Key", in: item).first, let size = Self.elements("Size", in: item).first.flatMap({ Int64($0) }) else { continue }
                found.append((key, size, Self.elements("LastModified", in: item).first.flatMap { Timestamp(rfc3339: $0) }))
            }
            token = Self.elements("IsTruncated", in: xml).first == "true" ? Self.elements("NextContinuationToken", in: xml).first : nil
        } while token != nil
        return found
    }

    // MARK: requests

    func path(_ key: String) -> String { "/\(bucket)/\(key)" }

    func failure(_ response: Response, _ method: String, _ key: String) -> Failure {
        Failure(status: response.status, method: method, key: key, body: String(decoding: response.body, as: UTF8.self))
    }

    /// One signed request, retried with backoff on what may pass (5xx, 429, a transport error).
    public func request(_ method: String, path: String, query: [(String, String)] = [], body: Data = Data(),
                        headers: [String: String] = [:], payloadHash: String? = nil) throws -> Response {
        var delay = 0.1
        var lastError: (any Error)?
        for attempt in 1...attempts {
            do {
                let response = try once(method, path: path, query: query, body: body, headers: headers, payloadHash: payloadHash)
                if failure(response, method, path).mayPass, attempt < attempts {
                    lastError = failure(response, method, path)
                } else {
                    return response
                }
            } catch {
                lastError = error
                if attempt == attempts { break }
            }
            usleep(useconds_t(delay * 1_000_000))
            delay *= 4
        }
        throw lastError!
    }

    private func once(_ method: String, path: String, query: [(String, String)], body: Data, headers: [String: String],
                      payloadHash: String? = nil, timeoutSeconds: Int = 60, sink: HTTPTransport.Sink? = nil,
                      sinkStatus: Int = 0) throws -> Response {
        let signed = signer.sign(method: method, path: path, query: query, headers: headers.merging(["host": host]) { $1 },
                                 payloadHash: payloadHash ?? Digest.hex(SHA256.hash(data: body)))
        let fields = signed.headers.filter { $0.key != "host" }.map { "\($0.key): \($0.value)" }
        do {
            return try HTTPTransport.perform(method: method, url: endpoint + signed.target, headers: fields, body: body, timeoutSeconds: timeoutSeconds,
                                             sink: sink, sinkStatus: sinkStatus)
        } catch let error as HTTPTransport.Failure {
            throw Failure(status: 0, method: method, key: path, body: error.message)
        }
    }

    /// The texts of every `<name>…</name>` in `xml`, entities decoded.
    static func elements(_ name: String, in xml: String) -> [String] {
        var found: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            found.append(String(rest[open.upperBound..<close.lowerBound]).replacingOccurrences(of: "&lt;", with: "<")
                .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&quot;", with: "\"")
                .replacingOccurrences(of: "&apos;", with: "'").replacingOccurrences(of: "&amp;", with: "&"))
            rest = rest[close.upperBound...]
        }
        return found
    }
}
