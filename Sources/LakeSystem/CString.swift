extension String {
    /// The text a C function left in `buffer`, up to its first NUL (all of it when there is
    /// none); bytes that are not UTF-8 become U+FFFD.
    public init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
