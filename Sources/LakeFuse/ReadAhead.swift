#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

/// The kernel gives a FUSE mount a 128 KiB read-ahead window (its INIT offers no more), which
/// leaves a cold sequential read waiting on small requests. Once the mount answers, a root
/// daemon widens the window through the mount's backing-device entry in sysfs, as one would with
/// `echo 4096 > /sys/class/bdi/0:NN/read_ahead_kb`. Without the right to do so, nothing changes.
enum ReadAhead {
    static func widen(mountpoint: String, kib: Int, logger: Logger) {
        let thread = Thread {
            var info = stat()
            // stat waits until the kernel has the mount's INIT answer, which sets the window.
            guard stat(mountpoint, &info) == 0 else { return }
            let path = "/sys/class/bdi/\(major(info.st_dev)):\(minor(info.st_dev))/read_ahead_kb"
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { return }
            defer { close(fd) }
            let text = Array("\(kib)\n".utf8)
            if write(fd, text, text.count) == text.count {
                logger.info("read-ahead widened", metadata: ["kib": "\(kib)", "sysfs": "\(path)"])
            }
        }
        thread.name = "lake-read-ahead"
        thread.start()
    }

    static func major(_ dev: dev_t) -> UInt32 { UInt32((dev >> 8) & 0xfff) | UInt32((dev >> 32) & ~0xfff) }
    static func minor(_ dev: dev_t) -> UInt32 { UInt32(dev & 0xff) | UInt32((dev >> 12) & ~0xff) }
}
