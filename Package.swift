// swift-tools-version:6.1
import PackageDescription

// One-way module dependencies (docs/architecture.md):
// LakeModel, LakeSystem <- LakeFormats, LakeCatalog, LakeBlobStore <- LakeCore <- LakeFS <- LakeFuse <- lake
// LakeBlobStore <- LakeS3 <- LakeCore (blobs in a bucket, issue 16)
let package = Package(
    name: "Lake",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "lake", targets: ["lake"]),
        .executable(name: "lake-bench", targets: ["lake-bench"]),
        .executable(name: "lake-fuzz", targets: ["lake-fuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "LakeModel"),
        .target(name: "LakeSystem"),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        // Whole-buffer DEFLATE: VTK's zlib blocks declare their size, so they need no stream.
        .systemLibrary(name: "CLibDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        // Streaming inflate, for the rare block too large to hold whole (libdeflate has no stream).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "LakeFormats", dependencies: ["LakeModel", "LakeSystem", "CLibDeflate", "CLZ4", "CLZMA", "CZlib"]),
        // Gathers the catalog's WAL writes into one per commit (see its source for why).
        .target(name: "CWALBatching", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(
            name: "LakeCatalog",
            dependencies: [
                "LakeModel", "CWALBatching", "LakePostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "LakeBlobStore",
            dependencies: [
                "LakeModel", "LakeSystem",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // S3 for the blob store on many machines (issue 16), with each node's cache: kept out
        // of LakeBlobStore, whose tests and tools need no HTTP.
        // libcurl for LakeS3, loaded at its first request (see its source for why).
        .target(name: "CCurlLoader", linkerSettings: [.linkedLibrary("dl")]),
        // PostgreSQL's client library, loaded at the first connection (docs/architecture.md).
        .target(name: "CLibPQLoader", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "LakePostgres", dependencies: ["CLibPQLoader"]),
        .target(name: "LakeS3", dependencies: ["LakeModel", "LakeBlobStore", "LakeSystem", "CCurlLoader", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "LakeCore",
            dependencies: [
                "LakeModel", "LakeSystem", "LakeFormats", "LakeCatalog", "LakeBlobStore", "LakeS3",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .systemLibrary(name: "CFuse3", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .target(name: "CFuseRing", dependencies: ["CFuse3"]),
        .target(
            name: "LakeFS",
            dependencies: ["LakeModel", "LakeSystem", "LakeCore", .product(name: "Logging", package: "swift-log")],
            // The filesystem sees the store only through LakeCore: members of the catalog's and
            // the blob store's types are out of its reach, not just their names.
            swiftSettings: [.enableUpcomingFeature("MemberImportVisibility")]),
        .target(
            name: "LakeFuse",
            dependencies: ["LakeFS", "LakeSystem", "CFuse3", "CFuseRing", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "lake",
            dependencies: [
                "LakeCore", "LakeFS", "LakeFuse",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            plugins: ["CommitStamp"]),
        // `lake --version` names the commit it was built from.
        .plugin(name: "CommitStamp", capability: .buildTool()),
        .executableTarget(
            name: "lake-bench",
            dependencies: ["LakeCore", "LakeFS", "LakeFormats", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                           .product(name: "Logging", package: "swift-log")],
            exclude: ["scripts"]),

        // Coverage-guided fuzzing of the parsers (docs/formats-and-statistics.md): does its work
        // only when built with -sanitize=fuzzer, which links libFuzzer's driver.
        .target(name: "CFuzzDriver"),
        .executableTarget(name: "lake-fuzz", dependencies: ["LakeFormats", "CFuzzDriver"]),

        .target(name: "LakeTestSupport", dependencies: ["LakeCore", "LakeS3", "LakePostgres"], path: "Tests/LakeTestSupport"),
        .testTarget(name: "LakeModelTests", dependencies: ["LakeModel", "LakeTestSupport"]),
        .testTarget(name: "LakeFormatsTests", dependencies: ["LakeFormats", "LakeTestSupport", "CZlib", "CLZ4", "CLZMA"]),
        .testTarget(name: "LakeCatalogTests", dependencies: ["LakeCatalog", "CWALBatching", "LakePostgres", "LakeTestSupport"]),
        .testTarget(name: "LakePostgresTests", dependencies: ["LakePostgres", "LakeTestSupport"]),
        .testTarget(name: "LakeBlobStoreTests", dependencies: ["LakeBlobStore", "LakeS3", "LakeTestSupport"]),
        .testTarget(name: "LakeCoreTests", dependencies: ["LakeCore", "LakeTestSupport"]),
        .testTarget(name: "LakeFSTests", dependencies: ["LakeFS", "LakeTestSupport"]),
        .testTarget(name: "LakeFuseTests", dependencies: ["LakeFuse", "LakeTestSupport"]),
        // Depends on the executable so `swift test` builds the binary these tests run.
        .testTarget(name: "LakeCLITests", dependencies: ["lake", "LakeModel", "LakeTestSupport"]),
    ]
)
