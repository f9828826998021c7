import Foundation
import LakeSystem

/// A TCP proxy on loopback in front of a server that cuts connections: the first `cuts`
/// connections whose replies pass `after` bytes have the reply cut there and both sides closed,
/// as a network that drops a transfer midway does. Real sockets and a real server behind them;
/// only the cut is made on purpose. Runs as a small Python process (python3 is on every machine
/// the tests run on: the S3 server comes from pip).
public final class CuttingProxy: @unchecked Sendable {
    public private(set) var port = 0
    private let process: ChildProcess

    /// With `holding`, a reply is not cut at once at `after` bytes: it stops there until
    /// `release()` (the transfer is in flight, stalled, for as long as a test needs), then is cut.
    public init(to targetPort: Int, after: Int, cuts: Int, holding: Bool = false) throws {
        process = try ChildProcess("/usr/bin/env", ["python3", "-c", Self.script, String(targetPort), String(after), String(cuts),
                                                   cutLog, holding ? "hold" : "cut"], input: .pipe, output: .pipe)
        // The first line is the port it listens on.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let byte = process.output!.readData(ofLength: 1)
            guard !byte.isEmpty else { throw CocoaError(.fileReadUnknown) }
            line.append(byte)
        }
        port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// How many connections it has cut so far (it notes each in a file).
    public func cutsMade() -> Int {
        let text = (try? String(contentsOfFile: cutLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").count
    }
    private let cutLog = NSTemporaryDirectory() + "lake-proxy-cuts-\(UUID().uuidString)"

    /// Ends the holds: a held reply is cut now, and later ones pass `after` without stopping.
    public func release() {
        // Its standard input: a line there ends the holds.
        process.input!.write(Data("release\n".utf8))
    }

    public func stop() {
        process.send(SIGKILL)
        process.wait()
        try? FileManager.default.removeItem(atPath: cutLog)
    }

    deinit { stop() }

    static let script = """
    import socket, sys, threading
    target, after, cuts, log, holding = int(sys.argv[1]), int(sys.argv[2]), [int(sys.argv[3])], sys.argv[4], sys.argv[5] == "hold"
    lock = threading.Lock()
    released = threading.Event()
    def listen():
        for line in sys.stdin:
            if line.strip() == "release": released.set()
    threading.Thread(target=listen, daemon=True).start()
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    print(server.getsockname()[1], flush=True)
    def close(*sockets):
        for s in sockets:
            try: s.shutdown(socket.SHUT_RDWR)
            except OSError: pass
            s.close()
    def upstream(client, origin):
        try:
            while True:
                data = client.recv(65536)
                if not data: break
                origin.sendall(data)
        except OSError: pass
        close(client, origin)
    def downstream(client, origin):
        sent, cut = 0, False
        try:
            while True:
                data = origin.recv(65536)
                if not data: break
                if not cut and sent + len(data) > after:
                    with lock:
                        cut = cuts[0] > 0
                        if cut: cuts[0] -= 1
                    if cut and holding and not released.is_set():
                        client.sendall(data[:after - sent])
                        with open(log, "a") as f: f.write("cut\\n")
                        released.wait()
                        break
                    if cut and not holding:
                        client.sendall(data[:after - sent])
                        with open(log, "a") as f: f.write("cut\\n")
                        break
                client.sendall(data)
                sent += len(data)
        except OSError: pass
        close(client, origin)
    while True:
        client, _ = server.accept()
        try: origin = socket.create_connection(("127.0.0.1", target))
        except OSError:
            close(client)  # the server is down: so is the connection
            continue
        threading.Thread(target=upstream, args=(client, origin), daemon=True).start()
        threading.Thread(target=downstream, args=(client, origin), daemon=True).start()
    """
}
