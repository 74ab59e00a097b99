// swift-tools-version:6.0
import PackageDescription

// Cuohe: the matching engine for a regional equity exchange's secondary market.
// Dependencies point one way: executables -> runtime -> protocol -> core -> nothing.
// No package dependencies: Foundation, Dispatch, Glibc and Synchronization only.
let strict: [SwiftSetting] = [.unsafeFlags(["-warnings-as-errors"])]

let package = Package(
    name: "Cuohe",
    products: [
        .executable(name: "cuohe", targets: ["cuohe"]),
        .library(name: "CuoheCore", targets: ["CuoheCore"]),
    ],
    targets: [
        // OS and CPU calls the Glibc module lacks (prefetch, huge-page allocation, the CRC32 instruction).
        .target(name: "CuoheSys"),
        // The deterministic matching core: no threads, clocks, sockets or files.
        .target(name: "CuoheCore", dependencies: ["CuoheSys"], swiftSettings: strict),
        // Text at the edges: the line protocol codec, fixed-point decimals, the JSON configuration.
        .target(name: "CuoheProtocol", dependencies: ["CuoheCore"], swiftSettings: strict),
        // Drivers around the core: replay, rings, journal, snapshots, settlement stage, pipeline.
        .target(name: "CuoheRuntime", dependencies: ["CuoheCore", "CuoheProtocol", "CuoheSys"], swiftSettings: strict),
        // The broker gateway: TCP sessions over epoll, the resume history, market data, metrics.
        .target(name: "CuoheGateway", dependencies: ["CuoheRuntime", "CuoheProtocol", "CuoheCore", "CuoheSys"],
                swiftSettings: strict),
        .executableTarget(name: "cuohe", dependencies: ["CuoheGateway", "CuoheRuntime", "CuoheProtocol", "CuoheCore"],
                          swiftSettings: strict),
        // What the benchmarks share: a seeded generator, a monotonic clock, percentiles.
        .target(name: "BenchSupport", path: "Benchmarks/BenchSupport", swiftSettings: strict),
        .executableTarget(name: "cuohe-core-bench", dependencies: ["CuoheCore", "BenchSupport"],
                          path: "Benchmarks/CoreBench", swiftSettings: strict),
        .executableTarget(name: "cuohe-auction-bench", dependencies: ["CuoheCore", "BenchSupport"],
                          path: "Benchmarks/AuctionBench", swiftSettings: strict),
        .executableTarget(name: "cuohe-negotiation-bench", dependencies: ["CuoheCore", "BenchSupport"],
                          path: "Benchmarks/NegotiationBench", swiftSettings: strict),
        .executableTarget(name: "cuohe-text-bench", dependencies: ["CuoheRuntime", "CuoheProtocol", "CuoheCore", "BenchSupport"],
                          path: "Benchmarks/TextBench", swiftSettings: strict),
        .executableTarget(name: "cuohe-ring-bench", dependencies: ["CuoheRuntime", "BenchSupport"],
                          path: "Benchmarks/RingBench", swiftSettings: strict),
        .executableTarget(name: "cuohe-pipeline-bench",
                          dependencies: ["CuoheRuntime", "CuoheProtocol", "CuoheCore", "BenchSupport"],
                          path: "Benchmarks/PipelineBench", swiftSettings: strict),
        // The load tester's tool: drives cuohe serve over TCP (or the pipeline in-process).
        .executableTarget(name: "cuohe-bench", dependencies: ["BenchSupport", "CuoheRuntime", "CuoheProtocol", "CuoheCore"],
                          path: "Benchmarks/LoadBench", swiftSettings: strict),
        .testTarget(name: "BenchSupportTests", dependencies: ["BenchSupport"]),
        .testTarget(name: "CuoheCoreTests", dependencies: ["CuoheCore", "CuoheProtocol", "CuoheRuntime"]),
        .testTarget(name: "CuoheProtocolTests", dependencies: ["CuoheCore", "CuoheProtocol"]),
        .testTarget(name: "CuoheRuntimeTests", dependencies: ["CuoheCore", "CuoheProtocol", "CuoheRuntime"]),
        .testTarget(name: "CuoheGatewayTests", dependencies: ["CuoheGateway", "CuoheCore", "CuoheProtocol", "CuoheRuntime", "BenchSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
