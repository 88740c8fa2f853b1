import Foundation
import SPConvCore
import SPConvKernels

/// Makes the ``BatchSource`` a textual input description names (a command-line argument).
public enum InputSource {
    /// The accepted descriptions, one per line, as error messages and help text list them.
    public static let acceptedForms = "a PATH.npy float32 NCHW array [N, C_in, H, W] used as is; 'fashion-mnist' or 'fashion-mnist:test' (the 10,000 test images in \(FashionMNIST.defaultFolder)) or 'fashion-mnist:train' (60,000); 'synthetic:N' or 'synthetic:N:SEED' (N seeded standard-normal images, seed 0 by default); or 'idx:DIR', 'cifar10:DIR', 'cifar100:DIR' with an optional ':train' or ':test' (default test; MNIST-format IDX files, the CIFAR binary versions); or a PNG or JPEG file, a folder of them, or an ImageFolder tree (one sub-folder per class, labelled)"

    /// Makes the batch source `description` names, shaped for the model `spec`.
    ///
    /// The forms are listed in ``acceptedForms``; `fashion-mnist` and `synthetic:` are matched
    /// first (case-insensitively), so a folder with such a name is given as `./fashion-mnist`.
    ///
    /// - Parameters:
    ///   - description: The input, as the user wrote it.
    ///   - spec: The model the inputs are for.
    ///   - limit: Keep only the first `limit` samples (at least 1), or all when `nil`.
    ///   - normalization: For images, the normalisation; `nil` means Fashion-MNIST's statistics
    ///     for `fashion-mnist` and ``Normalization/default(for:)`` for PNG files. Ignored by
    ///     `.npy` and synthetic inputs, which are used as is.
    /// - Throws: ``SPConvLabError``: `invalidConfiguration` for an unknown or malformed form (the
    ///   message lists the accepted ones) or a limit below 1, and whatever the chosen source
    ///   throws while opening its input.
    public static func make(_ description: String, spec: ModelSpec, limit: Int? = nil,
                            normalization: Normalization? = nil) throws -> any BatchSource {
        try make(description, input: InputSpec(spec), limit: limit, normalization: normalization)
    }

    /// ``make(_:spec:limit:normalization:)`` for a model that takes `input` (a zoo model's, or an
    /// imported one's).
    public static func make(_ description: String, input: InputSpec, limit: Int? = nil,
                            normalization: Normalization? = nil) throws -> any BatchSource {
        if let limit, limit < 1 {
            throw SPConvLabError(.invalidConfiguration,
                "an input limit of \(limit) samples is not accepted; give at least 1, or no limit for all samples")
        }
        let lowered = description.lowercased()
        if lowered == "fashion-mnist" || lowered.hasPrefix("fashion-mnist:") {
            let splitName = lowered == "fashion-mnist" ? "test" : String(lowered.dropFirst("fashion-mnist:".count))
            guard let split = FashionMNIST.Split(rawValue: splitName) else {
                throw unknown(description, reason: "'\(splitName)' is not a Fashion-MNIST split (test or train)")
            }
            let dataset = try FashionMNIST(split: split, limit: limit)
            return try FashionMNISTBatchSource(dataset: dataset, input: input,
                                               normalization: normalization ?? FashionMNIST.normalization)
        }
        if ImageDataset.isDatasetDescription(description) {
            // idx:DIR, cifar10:DIR, cifar100:DIR, each with an optional :train or :test (default test).
            var dataset = description, split = ImageDataset.Split.test
            for candidate in ImageDataset.Split.allCases where lowered.hasSuffix(":" + candidate.rawValue) {
                dataset = String(description.dropLast(candidate.rawValue.count + 1))
                split = candidate
            }
            return try DatasetBatchSource(dataset: try ImageDataset.load(dataset, split: split, limit: limit), input: input,
                                          normalization: normalization)
        }
        if lowered.hasPrefix("synthetic:") {
            let fields = description.split(separator: ":", omittingEmptySubsequences: false).dropFirst()
            guard fields.count == 1 || fields.count == 2 else {
                throw unknown(description, reason: "a synthetic input has the form synthetic:N or synthetic:N:SEED")
            }
            guard let count = Int(fields.first!), count >= 1 else {
                throw unknown(description, reason: "'\(fields.first!)' is not an image count of at least 1")
            }
            var seed: UInt64 = 0
            if fields.count == 2 {
                guard let parsed = UInt64(fields.last!) else {
                    throw unknown(description, reason: "'\(fields.last!)' is not a seed in 0 ... 2^64 - 1")
                }
                seed = parsed
            }
            return SyntheticBatchSource(count: min(count, limit ?? Int.max), input: input, seed: seed)
        }
        if lowered.hasSuffix(".npy") {
            let (tensor, _) = try InputLoader(input: input, normalization: normalization).load(description)
            let source = TensorBatchSource(tensor, name: "sample")
            guard let limit, limit < source.count else { return source }
            return TensorBatchSource(try source.batch(0..<limit), name: "sample")
        }
        guard FileManager.default.fileExists(atPath: description) else {
            throw unknown(description, reason: "it is not an existing file or folder")
        }
        return try ImageFolderBatchSource(path: description, input: input, normalization: normalization, limit: limit)
    }

    private static func unknown(_ description: String, reason: String) -> SPConvLabError {
        SPConvLabError(.invalidConfiguration,
            "cannot use '\(description)' as an input: \(reason). Accepted inputs: \(acceptedForms).")
    }
}
