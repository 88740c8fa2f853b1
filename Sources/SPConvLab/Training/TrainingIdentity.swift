import Foundation
import SPConvCore
import SPConvKernels

/// Everything that decides what a training run produces: the network, the data, the recipe and
/// the seed. Two runs with equal identities give the same weights (bit for bit on one thread);
/// the ``CheckpointStore`` files a run under its identity's ``key``.
///
/// The thread count is not part of the identity: it changes the order of floating-point sums,
/// not what was trained.
public struct TrainingIdentity: Hashable, Sendable {
    /// The network: architecture, variant (ratio and groups), input channels, input size, classes.
    public var spec: ModelSpec
    /// The dataset's name, as `train --dataset` takes it (`fashion-mnist`).
    public var dataset: String
    /// How many training images were used (the first N of the training split).
    public var trainImages: Int
    /// How many test images the accuracy is measured on (the first N of the test split).
    public var testImages: Int
    /// The recipe, with the epochs and the seed.
    public var recipe: TrainingConfiguration

    public init(spec: ModelSpec, dataset: String, trainImages: Int, testImages: Int, recipe: TrainingConfiguration) {
        self.spec = spec
        self.dataset = dataset
        self.trainImages = trainImages
        self.testImages = testImages
        self.recipe = recipe
    }

    /// The identity as `name=value` lines in a fixed order: the text whose SHA-256 is ``key``.
    ///
    /// Numbers are written in Swift's shortest round-trip form (`0.1`, `0.0005`, `0.25`), so the
    /// text, and the key, stay the same from one build to the next.
    public var canonicalText: String {
        let spconv = spec.variant.spconvConfiguration
        let fields: [(String, String)] = [
            ("model", spec.architecture.rawValue),
            ("variant", spec.variant.name),
            ("ratio", spconv.map { "\($0.ratio)" } ?? "-"),
            ("groups", spconv.map { "\($0.groups)" } ?? "-"),
            ("in_channels", "\(spec.inputChannels)"),
            ("input_size", "\(spec.inputSize)"),
            ("classes", "\(spec.classes)"),
            ("dataset", dataset),
            ("train_images", "\(trainImages)"),
            ("test_images", "\(testImages)"),
            ("epochs", "\(recipe.epochs)"),
            ("batch", "\(recipe.batchSize)"),
            ("learning_rate", "\(recipe.learningRate)"),
            ("momentum", "\(recipe.momentum)"),
            ("weight_decay", "\(recipe.weightDecay)"),
            ("schedule", recipe.schedule.description),
            ("warmup_epochs", "\(recipe.warmupEpochs)"),
            ("label_smoothing", "\(recipe.labelSmoothing)"),
            ("crop_padding", "\(recipe.cropPadding)"),
            ("horizontal_flip", "\(recipe.horizontalFlip)"),
            ("seed", "\(recipe.seed)"),
        ]
        return fields.map { "\($0.0)=\($0.1)\n" }.joined()
    }

    /// The store key: the first 16 hexadecimal digits of the SHA-256 of ``canonicalText``.
    public var key: String {
        var hash = SHA256()
        hash.update(Array(canonicalText.utf8))
        return String(hash.finalize().prefix(16))
    }

    /// The file name stem in a store: readable first, then the key, for example
    /// `resnet20_spconv_r0.5_g2_s0_1a2b3c4d5e6f7a8b`.
    public var fileStem: String {
        let variant = spec.variant.spconvConfiguration.map { "spconv_r\($0.ratio)_g\($0.groups)" } ?? "vanilla"
        return "\(spec.architecture.rawValue)_\(variant)_s\(recipe.seed)_\(key)"
    }

    /// A one-line description: `resnet20 spconv(ratio 0.5, groups 2), seed 0, 15 epochs on fashion-mnist`.
    public var summary: String {
        "\(spec.displayName), seed \(recipe.seed), \(recipe.epochs) epoch\(recipe.epochs == 1 ? "" : "s") on \(dataset)"
    }
}
