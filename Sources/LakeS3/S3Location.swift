import Foundation

/// Where a store's blobs live in S3, from `s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION]`
/// (path-style requests to `endpoint`; AWS's regional endpoint when none is given). Credentials
/// are never part of it: they come from the environment (`AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`) when the store is opened.
public struct S3Location: Sendable, Equatable {
    public var bucket: String
    public var prefix: String
    public var endpoint: String
    public var region: String

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(url text: String) throws(Invalid) {
        guard text.hasPrefix("s3://"), let components = URLComponents(string: text) else {
            throw Invalid(description: "'\(text)' is not an s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION address")
        }
        guard let bucket = components.host, !bucket.isEmpty,
              bucket.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 }) else {
            throw Invalid(description: "'\(text)' names no bucket (lower-case letters, digits, '-' and '.')")
        }
        self.bucket = bucket
        prefix = String(components.path.drop(while: { $0 == "/" }))
        if !prefix.isEmpty && !prefix.hasSuffix("/") { prefix += "/" }
        var endpoint: String?
        var region = "us-east-1"
        for item in components.queryItems ?? [] {
            switch item.name {
            case "endpoint": endpoint = item.value
            case "region": region = item.value ?? region
            default: throw Invalid(description: "'\(item.name)' is not a setting of an s3:// address (endpoint, region)")
            }
        }
        let resolved = endpoint ?? "https://s3.\(region).amazonaws.com"
        guard let url = URL(string: resolved), let scheme = url.scheme, scheme == "http" || scheme == "https", url.host != nil,
              url.path.isEmpty || url.path == "/" else {
            throw Invalid(description: "endpoint '\(resolved)' is not http(s)://HOST[:PORT]")
        }
        self.endpoint = resolved.hasSuffix("/") ? String(resolved.dropLast()) : resolved
        self.region = region
    }

    /// A client signing with the credentials in `environment`.
    public func client(environment: [String: String] = ProcessInfo.processInfo.environment) throws(Invalid) -> S3Client {
        guard let key = environment["AWS_ACCESS_KEY_ID"], !key.isEmpty, let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
            throw Invalid(description: "the store keeps its blobs in s3://\(bucket): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        return S3Client(endpoint: endpoint, bucket: bucket, signer: S3Signer(accessKey: key, secretKey: secret, region: region))
    }
}
