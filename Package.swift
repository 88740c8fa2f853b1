// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "SPConvLab",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "SPConvLab", targets: ["SPConvLab"]),
        .library(name: "FeatureProbe", targets: ["FeatureProbe"]),
        .executable(name: "probe-cli", targets: ["probe-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // ONNX files: the code generated from onnx.proto is committed (tools/generate_onnx_swift.sh), no build plugin.
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // MARK: - Public API
        // The engine in layers, each importing only those below it (docs/DESIGN.md):
        // SPConvCore (tensors, geometry, errors, file bytes) <- SPConvKernels (the only importer of
        // the C libraries) <- SPConvLab (I/O, ops, layers, models, cost, training, ONNX).
        .target(
            name: "SPConvLab",
            dependencies: ["SPConvCore", "SPConvKernels", "SPConvGraph", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Drawing", "CKernels", "Core", "Kernels", "Graph"]
        ),
        // Figures as shapes, written as PNG, SVG and PDF through cairo (the only importer of CCairo).
        .target(name: "Drawing", dependencies: ["CCairo"], path: "Sources/SPConvLab/Drawing"),
        .target(name: "FeatureProbe", dependencies: ["SPConvLab", "Drawing", "CSQLite"]),
        .executableTarget(
            name: "probe-cli",
            dependencies: [
                "SPConvLab", "Drawing", "FeatureProbe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Release-mode benchmark: heap allocations per forward pass (malloc interposed, this executable only).
        .executableTarget(
            name: "allocation-bench",
            dependencies: ["SPConvLab", "CMallocCounter", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/AllocationBench"
        ),

        // MARK: - Implementation details
        // The layers under SPConvLab, which re-exports them (users import SPConvLab).
        .target(name: "SPConvCore", path: "Sources/SPConvLab/Core"),
        .target(
            name: "SPConvKernels",
            dependencies: ["SPConvCore", "CDNNL", "CBLAS", "CPNG", "CJPEG", "CZlib", "CKernels"],
            path: "Sources/SPConvLab/Kernels"
        ),
        // The layers, each written once as graph ops, with the graph's reference, cost and fast
        // interpreters (and the ops they run).
        .target(name: "SPConvGraph", dependencies: ["SPConvCore", "SPConvKernels"], path: "Sources/SPConvLab/Graph"),
        .systemLibrary(name: "CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CBLAS", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libturbojpeg", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "CMallocCounter", path: "Benchmarks/CMallocCounter"),
        // The memory-bound training kernels' inner loops and the direct convolution SPConv's
        // branches run on, in C, built for AVX-512, AVX2 and the baseline and chosen at run time
        // (the build assumes no CPU).
        .target(name: "CKernels", path: "Sources/SPConvLab/CKernels"),
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        // MARK: - Tests
        .testTarget(
            name: "SPConvLabTests",
            dependencies: ["SPConvLab", "SPConvGraph", "CKernels"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "FeatureProbeTests",
            dependencies: ["FeatureProbe", "SPConvLab", "Drawing"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "DrawingTests", dependencies: ["Drawing"]),
        .testTarget(name: "ProbeCLITests", dependencies: ["SPConvLab", "FeatureProbe", "probe-cli"]),
    ]
)
