#if canImport(Glibc)
import Glibc
#endif

/// Local stream sockets for the mount daemon's session socket: framed messages (a 4-byte
/// big-endian length, then the bytes) that may carry open file descriptors (SCM_RIGHTS), and
/// the credentials of the process at the other end (SO_PEERCRED), which the kernel vouches for.
public enum UnixSocket {
    /// Messages larger than this are refused (an argument list of many files fits easily).
    public static let maximumMessage = 16 << 20
    /// At most this many descriptors travel with one message.
    public static let maximumDescriptors = 16

    /// Binds and listens at `path` (replacing a stale socket file), with permission bits `mode`.
    public static func listen(at path: String, mode: mode_t) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: path, errno: errno) }
        do {
            try? Syscall.unlinkIfPresent(path)
            try withAddress(path) { address, length in
                guard bind(fd, address, length) == 0 else { throw SystemError("bind", path: path, errno: errno) }
            }
            guard chmod(path, mode) == 0 else { throw SystemError("chmod", path: path, errno: errno) }
            guard Glibc.listen(fd, 64) == 0 else { throw SystemError("listen", path: path, errno: errno) }
            return fd
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    public static func connect(to path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: path, errno: errno) }
        do {
            try withAddress(path) { address, length in
                while Glibc.connect(fd, address, length) != 0 {
                    guard errno == EINTR else { throw SystemError("connect", path: path, errno: errno) }
                }
            }
            return fd
        } catch {
            Glibc.close(fd)
            throw error
        }
    }

    /// The next connection; nil when the listening socket was shut down.
    public static func accept(_ listener: Int32) throws -> Int32? {
        while true {
            // Close-on-exec from the start: a session spawned by another thread meanwhile
            // must not inherit this connection (its client would not see the session end).
            let fd = GNUFunctions.accept4.map { $0(listener, nil, nil, Int32(SOCK_CLOEXEC.rawValue)) } ?? Glibc.accept(listener, nil, nil)
            if fd >= 0 {
                if GNUFunctions.accept4 == nil { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                return fd
            }
            switch errno {
            case EINTR, ECONNABORTED: continue
            case EINVAL, EBADF: return nil
            default: throw SystemError("accept", path: "session socket", errno: errno)
            }
        }
    }

    /// Who is at the other end of a connection, as the kernel recorded it at connect(2).
    public static func peer(_ fd: Int32) throws -> (pid: Int32, uid: UInt32, gid: UInt32) {
        var credentials = (Int32(0), UInt32(0), UInt32(0))   // struct ucred: pid, uid, gid
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else {
            throw SystemError("SO_PEERCRED", path: "session socket", errno: errno)
        }
        return credentials
    }

    /// Sends one message, with `descriptors` attached to its first byte.
    public static func send(_ fd: Int32, _ payload: [UInt8], descriptors: [Int32] = []) throws {
        precondition(descriptors.count <= maximumDescriptors)
        var frame = [UInt8](repeating: 0, count: 4)
        let count = UInt32(payload.count)
        frame[0] = UInt8(count >> 24); frame[1] = UInt8(truncatingIfNeeded: count >> 16)
        frame[2] = UInt8(truncatingIfNeeded: count >> 8); frame[3] = UInt8(truncatingIfNeeded: count)
        frame += payload
        var sent = 0
        if !descriptors.isEmpty {
            sent = try frame.withUnsafeBytes { bytes in
                try sendWithDescriptors(fd, UnsafeRawBufferPointer(rebasing: bytes[0...]), descriptors)
            }
        }
        while sent < frame.count {
            let n = frame.withUnsafeBytes { bytes in
                Glibc.send(fd, bytes.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("send", path: "session socket", errno: errno)
            }
            sent += n
        }
    }

    /// Receives one message and the descriptors that came with it (close-on-exec); nil when the
    /// other end closed the connection between messages.
    public static func receive(_ fd: Int32) throws -> (payload: [UInt8], descriptors: [Int32])? {
        var header = [UInt8](repeating: 0, count: 4)
        var descriptors: [Int32] = []
        var got = 0
        while got < 4 {
            let (n, arrived) = try header.withUnsafeMutableBytes { bytes in
                try receiveWithDescriptors(fd, UnsafeMutableRawBufferPointer(rebasing: bytes[got...]))
            }
            descriptors += arrived
            if n == 0 {
                descriptors.forEach { _ = Glibc.close($0) }
                if got == 0 { return nil }
                throw SystemError("receive", path: "session socket", errno: ECONNRESET)
            }
            got += n
        }
        let count = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        guard count <= maximumMessage else {
            descriptors.forEach { _ = Glibc.close($0) }
            throw SystemError("receive", path: "session socket", errno: EMSGSIZE)
        }
        var payload = [UInt8](repeating: 0, count: count)
        got = 0
        while got < count {
            let n = payload.withUnsafeMutableBytes { bytes in Glibc.recv(fd, bytes.baseAddress! + got, count - got, 0) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                descriptors.forEach { _ = Glibc.close($0) }
                throw SystemError("receive", path: "session socket", errno: n == 0 ? ECONNRESET : errno)
            }
            got += n
        }
        return (payload, descriptors)
    }

    /// Receives one descriptor sent without framing (a byte and SCM_RIGHTS, as fusermount3
    /// sends the /dev/fuse descriptor it opened); nil when none came before the end.
    public static func receiveDescriptor(_ fd: Int32) throws -> Int32? {
        var byte: UInt8 = 0
        let (count, descriptors) = try withUnsafeMutableBytes(of: &byte) { try receiveWithDescriptors(fd, $0) }
        descriptors.dropFirst().forEach { _ = Glibc.close($0) }
        return count > 0 ? descriptors.first : nil
    }

    // MARK: - sendmsg/recvmsg with SCM_RIGHTS (the CMSG_* macros are not visible to Swift)

    /// sizeof(struct cmsghdr) on 64-bit Linux: size_t cmsg_len, int cmsg_level, int cmsg_type.
    private static let controlHeader = 16

    private static func controlSpace(_ descriptors: Int) -> Int {
        controlHeader + ((descriptors * 4 + 7) & ~7)
    }

    private static func sendWithDescriptors(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ descriptors: [Int32]) throws -> Int {
        let space = controlSpace(descriptors.count)
        let control = UnsafeMutableRawPointer.allocate(byteCount: space, alignment: 8)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0, count: space)
        control.storeBytes(of: controlHeader + descriptors.count * 4, as: Int.self)   // cmsg_len
        control.storeBytes(of: SOL_SOCKET, toByteOffset: 8, as: Int32.self)
        control.storeBytes(of: Int32(SCM_RIGHTS), toByteOffset: 12, as: Int32.self)
        for (index, descriptor) in descriptors.enumerated() {
            control.storeBytes(of: descriptor, toByteOffset: controlHeader + index * 4, as: Int32.self)
        }
        var vector = iovec(iov_base: UnsafeMutableRawPointer(mutating: bytes.baseAddress), iov_len: bytes.count)
        while true {
            let n = withUnsafeMutablePointer(to: &vector) { vectorPointer -> Int in
                var message = msghdr()
                message.msg_iov = vectorPointer
                message.msg_iovlen = 1
                message.msg_control = control
                message.msg_controllen = space
                return sendmsg(fd, &message, Int32(MSG_NOSIGNAL))
            }
            if n >= 0 { return n }
            if errno != EINTR { throw SystemError("sendmsg", path: "session socket", errno: errno) }
        }
    }

    private static func receiveWithDescriptors(_ fd: Int32, _ bytes: UnsafeMutableRawBufferPointer) throws -> (Int, [Int32]) {
        let space = controlSpace(maximumDescriptors)
        let control = UnsafeMutableRawPointer.allocate(byteCount: space, alignment: 8)
        defer { control.deallocate() }
        control.initializeMemory(as: UInt8.self, repeating: 0, count: space)
        var vector = iovec(iov_base: bytes.baseAddress, iov_len: bytes.count)
        var controlLength = 0
        var truncated = false
        let n: Int = try withUnsafeMutablePointer(to: &vector) { vectorPointer in
            while true {
                var message = msghdr()
                message.msg_iov = vectorPointer
                message.msg_iovlen = 1
                message.msg_control = control
                message.msg_controllen = space
                let n = recvmsg(fd, &message, Int32(MSG_CMSG_CLOEXEC))
                if n >= 0 {
                    controlLength = Int(message.msg_controllen)
                    truncated = message.msg_flags & Int32(MSG_CTRUNC) != 0
                    return n
                }
                if errno != EINTR { throw SystemError("recvmsg", path: "session socket", errno: errno) }
            }
        }
        var descriptors: [Int32] = []
        if controlLength >= controlHeader {
            let length = control.load(as: Int.self)
            let level = control.load(fromByteOffset: 8, as: Int32.self)
            let type = control.load(fromByteOffset: 12, as: Int32.self)
            if level == SOL_SOCKET, type == Int32(SCM_RIGHTS), length >= controlHeader, length <= controlLength {
                for index in 0..<((length - controlHeader) / 4) {
                    descriptors.append(control.load(fromByteOffset: controlHeader + index * 4, as: Int32.self))
                }
            }
        }
        if truncated {
            descriptors.forEach { _ = Glibc.close($0) }
            throw SystemError("recvmsg", path: "session socket (too many descriptors)", errno: EMSGSIZE)
        }
        return (n, descriptors)
    }

    private static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> T) throws -> T {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { throw SystemError("socket path too long", path: path, errno: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in raw.copyBytes(from: bytes) }
        return try withUnsafePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                try body(address, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
    }
}
