import CCurlLoader
import Foundation
import LakeSystem

/// Makes one HTTP request on the calling thread through libcurl, loaded at the first request
/// (`CCurlLoader`): a store without a bucket never loads it, and no `lake` command pays for
/// loading it at start. Each thread keeps its own connections between requests.
enum HTTPTransport {
    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Takes a response body's bytes as they arrive.
    typealias Sink = (UnsafeRawBufferPointer) throws -> Void

    /// What a response has delivered so far; the callbacks fill it.
    private final class Reception {
        var status = 0
        var headers: [String: String] = [:]
        var body = Data()
        /// Given the body of a response whose status is `sinkStatus`; any other body is kept in
        /// `body` (an error's text).
        let sink: Sink?
        let sinkStatus: Int
        var sinkFailure: (any Error)?

        init(sink: Sink?, sinkStatus: Int) {
            self.sink = sink
            self.sinkStatus = sinkStatus
        }

        /// Whether the transfer goes on.
        func take(_ bytes: UnsafeRawBufferPointer) -> Bool {
            guard let sink, status == sinkStatus else {
                body.append(contentsOf: bytes)
                return true
            }
            do { try sink(bytes) } catch {
                sinkFailure = error
                return false
            }
            return true
        }

        /// One header line; a status line starts a new set (after a redirect or an interim reply).
        func header(_ line: String) {
            let text = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if text.hasPrefix("HTTP/") {
                headers = [:]
                status = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
                return
            }
            guard let colon = text.firstIndex(of: ":") else { return }
            let name = text[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[name] = value
            if sink == nil, name == "content-length", let size = Int(value), size > 0, size <= 1 << 30 { body.reserveCapacity(size) }
        }
    }

    /// The response; with a `sink`, the body of a response with status `sinkStatus` goes to it
    /// as it arrives instead (an error the sink throws ends the transfer and is thrown).
    static func perform(method: String, url: String, headers: [String], body: Data, timeoutSeconds: Int,
                        sink: Sink? = nil, sinkStatus: Int = 0) throws -> S3Client.Response {
        let reception = Reception(sink: sink, sinkStatus: sinkStatus)
        var status = 0
        var message = [CChar](repeating: 0, count: 512)
        let code: Int32 = method.withCString { method in
            url.withCString { url in
                withCStrings(headers) { headerPointers in
                    body.withUnsafeBytes { bytes in
                        headerPointers.withUnsafeBufferPointer { headerList in
                            var request = lake_http_request(
                                method: method, url: url, headers: headerList.baseAddress, header_count: headerList.count,
                                body: bytes.baseAddress, body_length: bytes.count, timeout_seconds: timeoutSeconds,
                                on_body: { bytes, count, context in
                                    let reception = Unmanaged<Reception>.fromOpaque(context!).takeUnretainedValue()
                                    guard let bytes else { return count }
                                    return reception.take(UnsafeRawBufferPointer(start: bytes, count: count)) ? count : 0
                                },
                                on_header: { bytes, count, context in
                                    let reception = Unmanaged<Reception>.fromOpaque(context!).takeUnretainedValue()
                                    guard let bytes else { return count }
                                    reception.header(String(decoding: UnsafeRawBufferPointer(start: bytes, count: count), as: UTF8.self))
                                    return count
                                },
                                context: Unmanaged.passUnretained(reception).toOpaque())
                            return message.withUnsafeMutableBufferPointer { buffer in
                                lake_curl_perform(&request, &status, buffer.baseAddress, buffer.count)
                            }
                        }
                    }
                }
            }
        }
        withExtendedLifetime(reception) {}
        if let failure = reception.sinkFailure { throw failure }
        guard code == 0 else {
            throw Failure(message: String(nulTerminated: message))
        }
        return S3Client.Response(status: status, body: reception.body, headers: reception.headers)
    }

    /// `body` with the C strings of `strings`, valid only inside it.
    private static func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
        let copies = strings.map { strdup($0) }
        defer { copies.forEach { free($0) } }
        return body(copies.map { UnsafePointer($0) })
    }
}
