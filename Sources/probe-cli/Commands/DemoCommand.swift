import ArgumentParser
import Foundation
import SPConvLab

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "The toolkit's main job on its embedded default: resnet20 vanilla vs SPConv on the bundled images.",
        discussion: """
        Runs the bundled photos (assets/images) through resnet20 vanilla and resnet20 SPConv
        (ratio 1/2, groups 2) and prints each model's top classes, parameters, MACs and time per
        batch. Trained checkpoints in notebooks-data/models are used when present; otherwise the
        weights are seeded random ones, and the classes are meaningless (the costs are not).
        """)

    @Option(help: "A PNG file or a folder of PNGs (default: the bundled assets/images).")
    var images: String?

    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads \(threads) must be at least 1.") }
    }

    func run() throws {
        try reportingFailures {
            if let threads { Engine.setThreads(threads) }
            let folder = images ?? ProjectPaths.locate("assets/images")
            for variant in [ModelVariant.vanilla, .spconv(SPConvConfiguration(ratio: 0.5, groups: 2))] {
                let network = try Network(ModelSpec(.resnet20, variant: variant))
                let checkpoint = ProjectPaths.locate("notebooks-data/models/resnet20_\(variant.name).safetensors")
                var weightsNote = "seeded random weights"
                if FileManager.default.fileExists(atPath: checkpoint) {
                    // Shipped checkpoints are 1-channel 28x28 Fashion-MNIST models.
                    let trained = try Network(ModelSpec(.resnet20, variant: variant, inputChannels: 1, inputSize: 28))
                    try trained.loadWeights(contentsOf: checkpoint)
                    try report(trained, folder: folder, weightsNote: "trained weights \(checkpoint)")
                    continue
                }
                try report(network, folder: folder, weightsNote: weightsNote)
            }
        }
    }

    private func report(_ network: Network, folder: String, weightsNote: String) throws {
        let (batch, labels) = try InputLoader(spec: network.spec).load(folder)
        let ledger = try network.cost()
        let times = try Stopwatch.measure(warmup: 1, runs: 5) { _ = try network(batch) }
        let logits = try network(batch)
        let probabilities = Ops.softmax(logits, axis: 1)
        let names = ClassNames.names(for: network.spec)
        print("== \(network.spec.displayName) (\(weightsNote))")
        print("   params \(grouped(ledger.params)), MACs \(grouped(ledger.macs)) per image, "
              + String(format: "%.2f ms per batch of %d (median of 5, %d threads)", Stopwatch.median(times), labels.count, Engine.threads))
        for (i, label) in labels.enumerated() {
            let k = network.spec.classes
            let row = Array(probabilities.scalars[(i * k)..<((i + 1) * k)])
            let best = row.indices.sorted { row[$0] > row[$1] }.prefix(3)
            print("   \(label): " + best.map { "\(names[$0]) \(String(format: "%.1f%%", 100 * row[$0]))" }.joined(separator: ", "))
        }
    }
}

/// Finds files of the project: relative to the working directory first, then to the source tree
/// this binary was built from (so `swift run probe-cli demo` works from any folder of the clone).
enum ProjectPaths {
    static func locate(_ relativePath: String) -> String {
        if FileManager.default.fileExists(atPath: relativePath) { return relativePath }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(relativePath).path
    }
}
