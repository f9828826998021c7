import Foundation
import LakeBlobStore
import LakeS3
import LakeSystem

/// SeaweedFS's `weed mini` (master, volume, filer and S3 in one process) on loopback ports, in a
/// temporary folder, with one identity; killed at the end.
public final class SeaweedS3: @unchecked Sendable {
    public let accessKey = "lake-test-key"
    public let secretKey = "lake-test-secret/+="
    public let folder = TemporaryDirectory("seaweed")
    public private(set) var port = 0
    private var process: ChildProcess?

    public struct Response {
        public var status: Int
        public var body: Data
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public init() throws {
        let config = #"{"identities":[{"name":"test","credentials":[{"accessKey":"\#(accessKey)","secretKey":"\#(secretKey)"}],"actions":["Admin","Read","List","Tagging","Write"]}]}"#
        folder.write("s3.json", config)
        // Ports P…P+4 and their gRPC ports P+10000…: a block chosen at random, another if that
        // one was taken (the server then exits, or never answers).
        for _ in 0..<3 {
            port = 20_000 + 5 * Int.random(in: 0..<5_000)
            if try launch() { return }
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "weed mini did not start (last port \(port))"])
    }

    /// Starts the server on `port` and its folder; false (and stopped) when it did not come up.
    private func launch() throws -> Bool {
        let weed = try Command.output("/bin/sh", ["-c", "command -v weed"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let signer = S3Signer(accessKey: accessKey, secretKey: secretKey)
        let arguments = ["mini", "-dir=\(folder.path)", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-s3.port=\(port)",
                         "-master.port=\(port + 1)", "-volume.port=\(port + 2)", "-filer.port=\(port + 3)", "-admin.port=\(port + 4)",
                         "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.config=\(folder.path)/s3.json",
                         "-filer.localSocket=\(folder.path)/filer.sock", "-s3.localSocket=\(folder.path)/s3.sock"]
        // Its logs and the sockets it lets us place go to the temporary folder; the gRPC sockets
        // it always puts in /tmp are removed by `stop()` (killed, it never removes them: hundreds
        // piled up over a day of test runs).
        let environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": folder.path]) { $1 }
        let server = try ChildProcess(weed, arguments, environment: environment, output: .null, errors: .null)
        process = server
        // Ready when a signed listing of buckets succeeds (the filer is up behind the S3 port).
        if eventually(30, { !server.isRunning || (try? self.send(signer, "GET", "/"))?.status == 200 }), server.isRunning { return true }
        stop()
        return false
    }

    /// Starts the server again after `stop()`, on the same ports with the same folder: the
    /// buckets and objects it held are there again (a server that was down and came back).
    public func restart() throws {
        stop()
        for _ in 0..<3 where try launch() { return }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "weed mini did not start again on port \(port)"])
    }

    /// An S3 blob store on a new bucket of this server, its node cache in `cache`.
    /// A blob store on this server; `endpoint` reaches it another way (through a proxy).
    public func blobStore(cache: String, bucket: String = "lake-blobs", maximumBytes: Int64 = 1 << 40,
                          storeID: String = "store-test", endpoint: String? = nil) throws -> S3BlobStore {
        let client = S3Client(endpoint: endpoint ?? self.endpoint, bucket: bucket, signer: S3Signer(accessKey: accessKey, secretKey: secretKey))
        try client.createBucket()
        return S3BlobStore(client: client, prefix: "lake/", cache: try NodeCache(root: cache, maximumBytes: maximumBytes), storeID: storeID)
    }

    deinit { stop() }

    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The environment a `lake` process needs to use this server's buckets.
    public var credentials: [String: String] { ["AWS_ACCESS_KEY_ID": accessKey, "AWS_SECRET_ACCESS_KEY": secretKey] }

    public func stop() {
        // At once, as a crash would; then reaped.
        guard let process else { return }
        process.send(SIGKILL)
        process.wait()
        for grpcPort in (port + 10_000)...(port + 10_004) {
            for name in ["admin", "filer", "master", "s3", "volume"] { unlink("/tmp/seaweedfs-\(name)-grpc-\(grpcPort).sock") }
        }
    }

    /// One signed request through the client under test's own transport.
    public func send(_ signer: S3Signer, _ method: String, _ path: String, query: [(String, String)] = [], body: Data = Data(),
              headers: [String: String] = [:]) throws -> Response {
        let client = S3Client(endpoint: "http://127.0.0.1:\(port)", bucket: "", signer: signer)
        let response = try client.request(method, path: path, query: query, body: body, headers: headers)
        return Response(status: response.status, body: response.body)
    }
}
