/// How the kernel is to serve a file just opened: decided by the filesystem core, carried out
/// by the FUSE adapter.
public struct OpenPlan: Sendable, Equatable {
    public enum Caching: Sendable, Equatable {
        /// The bytes never change: the kernel keeps its cached pages across opens.
        case keep
        /// Ordinary caching for this open (pages may have changed since an earlier one).
        case revalidate
        /// Every read and write goes to the daemon, bypassing the page cache: uploads, so every
        /// failed write reaches the writer and its close, and receipts, so a reader keeps the
        /// version it opened whole whatever happens to the name meanwhile. Direct opens may sit
        /// beside passthrough opens of the same inode, which cached ones may not.
        case direct
    }

    public var handle: UInt64
    /// A descriptor whose bytes are exactly what this handle reads, now and for good: the
    /// kernel may read it by itself (passthrough) instead of asking the daemon.
    public var backing: Int32?
    public var caching: Caching
    /// Whether the close must reach the daemon (FLUSH): only a file being written commits there.
    /// A read-only open says the kernel need not send it, sparing a round trip per file read.
    public var needsFlush: Bool

    public init(handle: UInt64, backing: Int32? = nil, caching: Caching, needsFlush: Bool = true) {
        self.handle = handle
        self.backing = backing
        self.caching = caching
        self.needsFlush = needsFlush
    }
}

