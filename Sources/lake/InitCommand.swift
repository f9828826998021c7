import ArgumentParser
import LakeCore
import LakeSystem

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a store (an existing store is left unchanged).")

    @OptionGroup var options: StoreOptions

    @Option(name: .customLong("blobs"), help: ArgumentHelp(
        "Keep blobs in an S3 bucket: s3://BUCKET[/PREFIX]?endpoint=URL&region=REGION (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).",
        valueName: "url"))
    var blobs: String?

    @Option(name: .customLong("cache"), help: ArgumentHelp("With --blobs: this node's cache folder (default: STORE/cache).", valueName: "folder"))
    var cache: String?

    @Option(name: .customLong("cache-size"), help: ArgumentHelp("With --blobs: the most the cache holds, e.g. 200G (default 10G).", valueName: "size"))
    var cacheSize: String?

    @Option(name: .customLong("catalog"), help: ArgumentHelp(
        "Keep the catalog in a PostgreSQL database shared by many machines: postgres://USER@HOST:PORT/DATABASE (the password from PGPASSWORD or ~/.pgpass). A node joining a store gives the same --catalog and --blobs.",
        valueName: "url"))
    var catalog: String?

    func validate() throws {
        if blobs == nil, cache != nil || cacheSize != nil { throw ValidationError("--cache and --cache-size go with --blobs") }
        if let cacheSize, Self.bytes(cacheSize) == nil { throw ValidationError("--cache-size '\(cacheSize)' is not a size like 500M, 200G or 2T") }
    }

    /// `500M`, `200G`, `2T` (powers of 1024), or a number of bytes.
    static func bytes(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        if let unit = text.last.flatMap({ units[Character($0.uppercased())] }) {
            guard let number = Double(text.dropLast()), number > 0, number.isFinite else { return nil }
            return Int64(number * Double(unit))
        }
        return Int64(text).flatMap { $0 > 0 ? $0 : nil }
    }

    func run() throws {
        try reportingErrors {
            let root = options.storePath
            let bucket = blobs.map { url in
                BucketConfig(url: url, cache: StoreLocation.absolute(cache ?? Path.join(root, "cache")),
                             cacheBytes: cacheSize.flatMap(Self.bytes) ?? 10 << 30)
            }
            switch try Store.create(at: root, logger: options.logger, bucket: bucket, catalog: catalog) {
            case .created(let store):
                print("Created a Lake store at \(store.root)")
            case .alreadyExists(let store):
                print("A Lake store already exists at \(store.root); nothing was changed.")
            }
        }
    }
}
