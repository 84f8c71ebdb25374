// swift-tools-version:6.1
import PackageDescription

/// One settings list for every target (STYLE.md): Swift 6 language mode, explicit existentials.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "vpt",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vpt", targets: ["vpt"]),
        .executable(name: "vpt-bench", targets: ["VPTBenchmarks"]),
        .executable(name: "vpt-keys-bench", targets: ["VPTKeysBenchmarks"]),
        .executable(name: "vpt-runtime", targets: ["vpt-runtime"]),
        .executable(name: "vpt-noop-server", targets: ["vpt-noop-server"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Shared contract between the provisioner and a tenant's runtime: config schema, formats.
        .target(
            name: "VPTContract",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Runtime/Contract",
            swiftSettings: swiftSettings
        ),
        // The local target's cloud services (KMS, IAM/STS, account directories). A tenant process
        // may link it; it never sees the fleet state.
        .target(
            name: "VPTLocalCloud",
            dependencies: [
                "VPTContract",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Runtime/LocalCloud",
            swiftSettings: swiftSettings
        ),
        // Online store adapters a tenant's data plane uses (credential and residency checked on open).
        .target(
            name: "VPTOnlineStore",
            dependencies: [
                "VPTContract", "VPTLocalCloud",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The serving path's point reads use the SQLite C API directly (SQLitePointReader).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                // Redis reads for the serving path run on the data plane's event loops (RedisLoopClient),
                // over TLS for rediss:// endpoints.
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Runtime/Stores",
            swiftSettings: swiftSettings
        ),
        // The control plane's encrypted metadata store (envelope encryption under the tenant CMK).
        .target(
            name: "VPTMetadata",
            dependencies: [
                "VPTContract", "VPTLocalCloud",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Runtime/Metadata",
            swiftSettings: swiftSettings
        ),
        // A tenant's control plane and data plane services (never links a Provisioner/ target).
        .target(
            name: "VPTRuntime",
            dependencies: [
                "VPTContract", "VPTLocalCloud", "VPTOnlineStore", "VPTMetadata",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Runtime/Server",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "vpt-runtime",
            dependencies: [
                "VPTRuntime", "VPTLocalCloud", "VPTContract", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Runtime/vpt-runtime",
            swiftSettings: swiftSettings
        ),
        // Pure tenant model: spec, validation, CIDR arithmetic. No I/O.
        .target(
            name: "VPTModel",
            dependencies: ["VPTContract", .product(name: "Yams", package: "Yams")],
            path: "Provisioner/Model",
            swiftSettings: swiftSettings
        ),
        // Fleet state store (SQLite via GRDB), CIDR pool, per-tenant locks.
        .target(
            name: "VPTState",
            dependencies: [
                "VPTModel", "VPTLocalCloud",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Provisioner/State",
            swiftSettings: swiftSettings
        ),
        // Mustache templates rendered per tenant.
        .target(
            name: "VPTTemplates",
            path: "Templates",
            resources: [.copy("runtime"), .copy("terraform"), .copy("kubernetes")],
            swiftSettings: swiftSettings
        ),
        // Resource graph, plan, apply, providers, rendering.
        .target(
            name: "VPTEngine",
            dependencies: [
                "VPTModel", "VPTState", "VPTContract", "VPTLocalCloud", "VPTTemplates", "VPTOnlineStore", "VPTMetadata",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            path: "Provisioner/Engine",
            swiftSettings: swiftSettings
        ),
        // The command tree; a library so tests can parse and run commands.
        .target(
            name: "VPTCLI",
            dependencies: [
                "VPTModel", "VPTState", "VPTEngine", "VPTLocalCloud",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Provisioner/CLI",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "vpt",
            dependencies: ["VPTCLI"],
            path: "Provisioner/vpt",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "VPTBenchmarks",
            dependencies: ["VPTModel", "VPTState", "VPTEngine"],
            path: "Benchmarks/Provisioning",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "VPTKeysBenchmarks",
            dependencies: [
                "VPTEngine", "VPTMetadata", "VPTLocalCloud", "VPTContract", .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Benchmarks/Keys",
            swiftSettings: swiftSettings
        ),
        // The serving benchmark's ceiling: the same framework answering a fixed 50-feature body.
        .executableTarget(
            name: "vpt-noop-server",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"), "VPTRuntime", "VPTContract",
            ],
            path: "Benchmarks/NoopServer",
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets (temporary folders, the repository root, infra scripts).
        .target(
            name: "VPTTestSupport",
            dependencies: ["VPTLocalCloud"],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VPTModelTests",
            dependencies: ["VPTTestSupport", "VPTModel"],
            path: "Tests/VPTModelTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VPTStateTests",
            dependencies: ["VPTTestSupport", "VPTState", "VPTModel"],
            path: "Tests/VPTStateTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VPTLocalCloudTests",
            dependencies: ["VPTTestSupport", "VPTLocalCloud", "VPTContract"],
            path: "Tests/VPTLocalCloudTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VPTOnlineStoreTests",
            dependencies: [
                "VPTTestSupport", "VPTOnlineStore", "VPTContract", "VPTLocalCloud", "VPTEngine", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/VPTOnlineStoreTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VPTMetadataTests",
            dependencies: ["VPTTestSupport", "VPTMetadata", "VPTLocalCloud", .product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/VPTMetadataTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VPTRuntimeTests",
            dependencies: ["VPTTestSupport", "VPTRuntime", "VPTContract", "VPTOnlineStore", "VPTMetadata", "VPTLocalCloud"],
            path: "Tests/VPTRuntimeTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VPTEngineTests",
            dependencies: ["VPTTestSupport", "VPTEngine", "VPTModel", "VPTState", "VPTLocalCloud", "VPTContract"],
            path: "Tests/VPTEngineTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VPTCLITests",
            dependencies: [
                "VPTTestSupport", "VPTCLI", "vpt", "vpt-runtime", "VPTEngine", "VPTState", "VPTLocalCloud", "VPTMetadata", "VPTContract", "VPTRuntime",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Tests/VPTCLITests",
            swiftSettings: swiftSettings
        ),
    ]
)
