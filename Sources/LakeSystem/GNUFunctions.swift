#if canImport(Glibc)
import Glibc
#endif

/// glibc functions its Swift module hides (declared only with _GNU_SOURCE), found at run time.
enum GNUFunctions {
    static let syncfs: @convention(c) (Int32) -> Int32 = lookUp("syncfs") ?? { _ in Glibc.sync(); return 0 }
    static let gettid: @convention(c) () -> Int32 = lookUp("gettid") ?? { 0 }
    static let pipe2: (@convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32)? = lookUp("pipe2")
    static let accept4: (@convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32)? = lookUp("accept4")
    static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)?
        = lookUp("posix_spawn_file_actions_addclosefrom_np")
    static let addChangeDirectory: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32)?
        = lookUp("posix_spawn_file_actions_addchdir_np")

    /// `sched_getaffinity(pid, size, mask)`, the mask as raw bytes.
    static let schedGetAffinity: (@convention(c) (Int32, Int, UnsafeMutableRawPointer) -> Int32)? = lookUp("sched_getaffinity")

    static let setThreadName: (@convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32)? = lookUp("pthread_setname_np")

    private static func lookUp<F>(_ name: String) -> F? {
        // A null handle is RTLD_DEFAULT: every loaded library is searched.
        dlsym(nil, name).map { unsafeBitCast($0, to: F.self) }
    }
}
