// swift-tools-version: 6.0
import Foundation
import PackageDescription

// libFuzzer targets for the toolkit's readers of hostile input (docs/RELIABILITY.md).
// Build with Fuzz/build.sh and run with Fuzz/run.sh (Fuzz/README.md); a plain `swift build` here
// gives binaries without libFuzzer's main and without instrumentation.

/// SwiftPM names a path dependency after its folder (`main`, `wt-fuzz`, ... for a worktree), so
/// the products are looked up under whatever the folder above this one is called.
let toolkit = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

func fuzzTarget(_ name: String, folder: String, _ products: [String]) -> Target {
    .executableTarget(
        name: name,
        dependencies: products.map { .product(name: $0, package: toolkit) },
        path: "Targets/\(folder)"
    )
}

let package = Package(
    name: "SPConvLabFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: ".."),
    ],
    targets: [
        fuzzTarget("fuzz-safetensors", folder: "Safetensors", ["SPConvLab"]),
        fuzzTarget("fuzz-npy", folder: "NPY", ["SPConvLab"]),
        fuzzTarget("fuzz-png", folder: "PNG", ["SPConvLab"]),
        fuzzTarget("fuzz-idx", folder: "IDX", ["SPConvLab"]),
        fuzzTarget("fuzz-onnx", folder: "ONNX", ["SPConvLab"]),
        fuzzTarget("fuzz-database", folder: "Database", ["FeatureProbe"]),
    ]
)
