import ArgumentParser
import FeatureProbe
import SPConvLab

/// Where the images come from and how they are batched, for the analysis commands.
struct InputOptions: ParsableArguments {
    @Option(help: ArgumentHelp("""
        Images: a .npy float32 NCHW array, a PNG file, a folder of PNGs, 'fashion-mnist' (the test set \
        Debian's dataset-fashion-mnist installs; 'fashion-mnist:train' for the training set), or \
        'synthetic:N[:seed]' (seeded Gaussian images).
        """, valueName: "source"))
    var input: String

    @Option(help: "Use only the first N images of the source.")
    var limit: Int?

    @Option(help: "Images per forward pass.")
    var batch: Int = 32

    @Option(help: "Image normalisation: cifar10, fashion-mnist, imagenet or none (default: by model).")
    var normalization: String?

    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    @OptionGroup var memory: MemoryOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit \(limit) must be at least 1.") }
        guard batch >= 1 else { throw ValidationError("--batch \(batch) must be at least 1.") }
        try ThreadLimit.validate(threads)
        if let normalization, NormalizationChoice(rawValue: normalization) == nil {
            throw ValidationError("--normalization '\(normalization)' is not known; choose cifar10, fashion-mnist, imagenet or none.")
        }
    }

    /// The batch source for a network, after applying --threads and checking --batch against the
    /// memory budget.
    func makeSource(for network: Network) throws -> any BatchSource {
        try memory.checkInference(network, batch: batch)
        return try makeSource(for: network.spec)
    }

    /// The batch source for an imported ONNX model, after checking --batch against the memory
    /// budget and applying --threads.
    func makeSource(for imported: ONNXFeatureModel) throws -> any BatchSource {
        try memory.checkInference(imported.model, batch: batch)
        return try makeSource(for: imported.inputSpec)
    }

    /// The batch source for a model that takes `input` (an imported one's), after applying --threads.
    func makeSource(for input: InputSpec) throws -> any BatchSource {
        if let threads { Engine.setThreads(threads) }
        return try InputSource.make(self.input, input: input, limit: limit,
                                    normalization: normalization.flatMap(NormalizationChoice.init)?.value)
    }

    /// The batch source for a model, after applying --threads.
    func makeSource(for spec: ModelSpec) throws -> any BatchSource {
        if let threads { Engine.setThreads(threads) }
        return try InputSource.make(input, spec: spec, limit: limit,
                                    normalization: normalization.flatMap(NormalizationChoice.init)?.value)
    }
}
