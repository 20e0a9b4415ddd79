// swift-tools-version:6.0
//
// Fjord: a Kafka-compatible broker in Swift. Targets follow docs/ARCHITECTURE.md:
// arrows point down only (fjord → FjordBroker / FjordClient → KafkaRecords → KafkaProtocol).
import PackageDescription

let package = Package(
    name: "Fjord",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fjord", targets: ["fjord"]),
        .executable(name: "fjord-codegen", targets: ["fjord-codegen"]),
        .library(name: "KafkaProtocol", targets: ["KafkaProtocol"]),
        .library(name: "KafkaRecords", targets: ["KafkaRecords"]),
        .library(name: "FjordBroker", targets: ["FjordBroker"]),
        .library(name: "FjordClient", targets: ["FjordClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // SCRAM's hashes and HMACs (FjordSecurity).
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // TLS listeners (FjordBroker) and connections (FjordClient); a client certificate's subject for its principal.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        // `make docs`: the FjordClient DocC catalog (a command plugin; nothing of it is linked).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        // MARK: Protocol layer
        .target(
            name: "KafkaProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(name: "KafkaCodegen"),
        .executableTarget(name: "fjord-codegen", dependencies: ["KafkaCodegen"]),

        // MARK: Record batches, checksums and compression
        .target(name: "CCRC32C"),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),
        .target(
            name: "KafkaRecords",
            dependencies: [
                "CCRC32C", "CZlib", "CLZ4", "CZstd", "CSnappy",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),

        // MARK: Storage
        .target(
            name: "FjordStorage",
            dependencies: [
                "KafkaProtocol", "KafkaRecords", "FjordReplication",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Appends until killed, printing each acknowledged append: the child process of the storage crash tests.
        .executableTarget(
            name: "fjord-storage-crash-writer",
            dependencies: [
                "FjordStorage", "FjordTestSupport", "KafkaProtocol", "KafkaRecords",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // Append/read/lookup throughput beside the disk's raw rate (Benchmarks/StorageBenchmark, not in `make test`).
        .executableTarget(
            name: "fjord-storage-bench",
            dependencies: [
                "FjordStorage", "KafkaProtocol", "KafkaRecords", .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Benchmarks/StorageBenchmark"
        ),

        // MARK: Controller (pure: no I/O, clocks or tasks)
        .target(
            name: "FjordController",
            dependencies: ["KafkaProtocol", "FjordSecurity", .product(name: "NIOCore", package: "swift-nio")]
        ),

        // MARK: Groups (pure: no I/O, clocks or tasks)
        .target(
            name: "FjordGroups",
            dependencies: ["KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),

        // MARK: Raft consensus of __cluster_metadata (pure: no I/O, clocks or tasks)
        .target(
            name: "FjordRaft",
            dependencies: ["KafkaProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),

        // MARK: Transactions (pure: no I/O, clocks or tasks)
        .target(
            name: "FjordTransactions",
            dependencies: ["KafkaProtocol", "FjordGroups", .product(name: "NIOCore", package: "swift-nio")]
        ),

        // MARK: Partition replication (pure: no I/O, clocks or tasks)
        .target(name: "FjordReplication", dependencies: ["KafkaProtocol"]),

        // MARK: Security (pure: ACLs and the authorizer's decisions, the server side of SASL exchanges)
        .target(name: "FjordSecurity", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),

        // MARK: Broker
        .target(
            name: "FjordBroker",
            dependencies: [
                "KafkaProtocol", "KafkaRecords", "FjordStorage", "FjordController", "FjordGroups", "FjordTransactions",
                "FjordRaft", "FjordReplication", "FjordSecurity",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "fjord",
            dependencies: [
                "FjordBroker", "FjordController", "FjordSecurity", "FjordStorage", "FjordClient", "KafkaProtocol",
                "KafkaRecords",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        // MARK: Client
        .target(
            name: "FjordClient",
            dependencies: [
                "KafkaProtocol", "KafkaRecords", "FjordSecurity",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // FjordClient's side of Benchmarks/client_bench.py (not in `make test`).
        .executableTarget(
            name: "fjord-client-bench",
            dependencies: ["FjordClient", .product(name: "NIOCore", package: "swift-nio")],
            path: "Benchmarks/ClientBenchmark"
        ),

        // MARK: Client examples (runnable: `swift run fjord-example-producer`)
        .executableTarget(
            name: "fjord-example-producer",
            dependencies: ["FjordClient", "KafkaRecords", .product(name: "NIOCore", package: "swift-nio")],
            path: "Examples/ProducerExample"
        ),
        .executableTarget(
            name: "fjord-example-group-consumer",
            dependencies: ["FjordClient", .product(name: "NIOCore", package: "swift-nio")],
            path: "Examples/GroupConsumerExample"
        ),
        .executableTarget(
            name: "fjord-example-external-offsets",
            dependencies: ["FjordClient", .product(name: "NIOCore", package: "swift-nio")],
            path: "Examples/ExternalOffsetsExample"
        ),

        // MARK: Tests
        // What the test targets share: the seeded generator, a manual clock, brokers as child processes.
        .target(
            name: "FjordTestSupport",
            dependencies: ["FjordStorage", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            path: "Tests/FjordTestSupport"
        ),
        .testTarget(
            name: "KafkaProtocolTests",
            dependencies: ["KafkaProtocol", "FjordTestSupport", .product(name: "NIOCore", package: "swift-nio")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "KafkaCodegenTests", dependencies: ["KafkaCodegen"]),
        .testTarget(
            name: "KafkaRecordsTests",
            dependencies: ["KafkaRecords", "FjordTestSupport", .product(name: "NIOCore", package: "swift-nio")],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "FjordControllerTests",
            dependencies: ["FjordController", "KafkaProtocol", "FjordTestSupport"]
        ),
        .testTarget(
            name: "FjordGroupsTests",
            dependencies: [
                "FjordGroups", "KafkaProtocol", "FjordTestSupport", .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FjordRaftTests",
            dependencies: [
                "FjordRaft", "FjordTestSupport", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "FjordSecurityTests", dependencies: ["FjordSecurity"]),
        .testTarget(
            name: "FjordReplicationTests",
            dependencies: ["FjordReplication", "FjordTestSupport", "KafkaProtocol"]
        ),
        .testTarget(
            name: "FjordTransactionsTests",
            dependencies: [
                "FjordTransactions", "FjordGroups", "KafkaProtocol", .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FjordStorageTests",
            dependencies: [
                "FjordStorage", "FjordReplication", "KafkaRecords", "KafkaProtocol", "FjordTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "FjordBrokerTests",
            dependencies: [
                "FjordBroker", "FjordController", "FjordStorage", "KafkaProtocol", "KafkaRecords", "FjordTestSupport",
                "FjordReplication",
                "FjordRaft",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "FjordCLITests",
            dependencies: [
                "fjord", "FjordStorage", "KafkaProtocol", "KafkaRecords", "FjordTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FjordClientTests",
            dependencies: [
                "FjordClient", "FjordSecurity", "KafkaProtocol", "KafkaRecords", "FjordTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
