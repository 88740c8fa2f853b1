import Foundation
import SPConvCore
import SPConvKernels

/// The JSON written beside a trained checkpoint (`F.json` beside `F.safetensors`): how the weights
/// were made and how well they did.
///
/// It holds every field of the ``TrainingIdentity`` (so the identity can be read back from it),
/// the per-epoch history, the final and best test accuracy, the wall time and the data
/// normalisation. Written again after every epoch; `finished` says whether the last epoch is done.
public struct TrainingSidecar: Codable, Sendable, Equatable {
    public var tool: String
    public var toolVersion: String
    public var gitCommit: String?
    public var command: [String]
    public var model: String
    public var variant: String
    public var ratio: Double?
    public var groups: Int?
    public var inChannels: Int
    public var classes: Int
    public var inputSize: Int
    public var dataset: String
    public var trainImages: Int
    public var testImages: Int
    public var normalization: [String: [Float]]
    public var epochs: Int
    public var completedEpochs: Int
    public var finished: Bool
    public var batch: Int
    public var learningRate: Double
    public var momentum: Double
    public var weightDecay: Double
    public var schedule: String
    public var warmupEpochs: Int
    public var labelSmoothing: Double
    public var seed: UInt64
    public var cropPadding: Int
    public var horizontalFlip: Bool
    public var threads: Int
    public var finalTestAccuracy: Double
    public var bestTestAccuracy: Double
    public var bestEpoch: Int
    public var wallSeconds: Double
    public var trainImagesPerSecond: Double
    /// The ``TrainingIdentity/key`` of the run, when it was written by a ``CheckpointStore``.
    public var storeKey: String?
    /// What makes this run differ from a run of its identity trained from the seeded initial
    /// weights in one go: "started from the weights F (SHA-256 ...)", "--epochs grew from 10 to
    /// 15 after epoch 10" (the schedule changed). nil when nothing does; such a run is never
    /// filed in a store.
    public var deviations: [String]?
    public var history: [EpochRecord]

    enum CodingKeys: String, CodingKey {
        case tool, toolVersion = "tool_version", gitCommit = "git_commit", command, model, variant, ratio, groups
        case inChannels = "in_channels", classes, inputSize = "input_size", dataset, trainImages = "train_images"
        case testImages = "test_images", normalization, epochs, completedEpochs = "completed_epochs", finished, batch
        case learningRate = "learning_rate", momentum, weightDecay = "weight_decay", schedule, warmupEpochs = "warmup_epochs"
        case labelSmoothing = "label_smoothing", seed, cropPadding = "crop_padding", horizontalFlip = "horizontal_flip"
        case threads, finalTestAccuracy = "final_test_accuracy", bestTestAccuracy = "best_test_accuracy"
        case bestEpoch = "best_epoch", wallSeconds = "wall_seconds", trainImagesPerSecond = "train_images_per_second"
        case storeKey = "store_key", deviations, history
    }

    /// Who wrote a sidecar: the tool's name and version, its git commit and the command line.
    public struct Writer: Sendable {
        public var tool: String
        public var version: String
        public var gitCommit: String?
        public var command: [String]

        public init(tool: String, version: String, gitCommit: String?, command: [String]) {
            self.tool = tool
            self.version = version
            self.gitCommit = gitCommit
            self.command = command
        }
    }

    /// The sidecar of a run of `identity` after the epochs in `history`.
    public init(identity: TrainingIdentity, history: [EpochRecord], normalization: Normalization, threads: Int,
                wallSeconds: Double, writer: Writer, storeKey: String? = nil, deviations: [String] = []) {
        let spec = identity.spec, c = identity.recipe
        tool = writer.tool
        toolVersion = writer.version
        gitCommit = writer.gitCommit
        command = writer.command
        model = spec.architecture.rawValue
        variant = spec.variant.name
        ratio = spec.variant.spconvConfiguration?.ratio
        groups = spec.variant.spconvConfiguration?.groups
        inChannels = spec.inputChannels
        classes = spec.classes
        inputSize = spec.inputSize
        dataset = identity.dataset
        trainImages = identity.trainImages
        testImages = identity.testImages
        self.normalization = ["mean": normalization.mean, "std": normalization.std]
        epochs = c.epochs
        completedEpochs = history.count
        finished = history.count == c.epochs
        batch = c.batchSize
        learningRate = c.learningRate
        momentum = c.momentum
        weightDecay = c.weightDecay
        schedule = c.schedule.description
        warmupEpochs = c.warmupEpochs
        labelSmoothing = c.labelSmoothing
        seed = c.seed
        cropPadding = c.cropPadding
        horizontalFlip = c.horizontalFlip
        self.threads = threads
        finalTestAccuracy = history.last?.testAccuracy ?? 0
        let best = history.max { $0.testAccuracy < $1.testAccuracy }
        bestTestAccuracy = best?.testAccuracy ?? 0
        bestEpoch = best?.epoch ?? 0
        self.wallSeconds = wallSeconds
        let (images, seconds) = history.reduce((0.0, 0.0)) { ($0.0 + $1.imagesPerSecond * $1.trainSeconds, $0.1 + $1.trainSeconds) }
        trainImagesPerSecond = seconds > 0 ? images / seconds : 0
        self.storeKey = storeKey
        self.deviations = deviations.isEmpty ? nil : deviations
        self.history = history
    }

    /// The identity of the run this sidecar describes.
    ///
    /// - Throws: `SPConvLabError(.invalidWeights)` naming `source` when a field does not describe
    ///   a buildable network or a valid recipe (a sidecar edited by hand or from another tool).
    public func identity(source: String) throws -> TrainingIdentity {
        func fail(_ what: String) -> SPConvLabError {
            SPConvLabError(.invalidWeights, "The training sidecar \(source) has \(what); it must be a sidecar written by probe-cli train (docs: notebooks-data/README.md).")
        }
        guard let architecture = Architecture(rawValue: model) else {
            throw fail("model '\(model)', which is not in the zoo (\(Architecture.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let variant = ModelVariant(name: self.variant, ratio: ratio, groups: groups) else {
            throw fail("variant '\(self.variant)' with ratio \(ratio.map { "\($0)" } ?? "none") and groups \(groups.map(String.init) ?? "none") (vanilla has neither; spconv has a ratio in (0, 1) and groups >= 1)")
        }
        guard let schedule = LearningRateSchedule(parsing: schedule) else { throw fail("schedule '\(self.schedule)'") }
        var recipe = TrainingConfiguration(epochs: epochs)
        recipe.batchSize = batch
        recipe.learningRate = learningRate
        recipe.momentum = momentum
        recipe.weightDecay = weightDecay
        recipe.schedule = schedule
        recipe.warmupEpochs = warmupEpochs
        recipe.labelSmoothing = labelSmoothing
        recipe.seed = seed
        recipe.cropPadding = cropPadding
        recipe.horizontalFlip = horizontalFlip
        do { try recipe.validate() } catch let error as SPConvLabError { throw fail("a recipe that is not valid (\(error.message))") }
        let spec = ModelSpec(architecture, variant: variant, inputChannels: inChannels, classes: classes, inputSize: inputSize)
        return TrainingIdentity(spec: spec, dataset: dataset, trainImages: trainImages, testImages: testImages, recipe: recipe)
    }

    /// Reads a sidecar.
    ///
    /// - Throws: `SPConvLabError(.io)` when the file cannot be read, `.invalidWeights` when it is
    ///   not a sidecar (the decoder's reason is named).
    public static func read(_ path: String) throws -> TrainingSidecar {
        // A sidecar of 100,000 epochs is a few MB; 64 MiB is far beyond any real one.
        let bytes = try FileBytes.read(contentsOf: path, maximumSize: 64 << 20, what: "a training sidecar (JSON)")
        do {
            return try JSONDecoder().decode(TrainingSidecar.self, from: Data(bytes))
        } catch {
            throw SPConvLabError(.invalidWeights, "\(path) is not a training sidecar written by probe-cli train: \(Self.describe(error)). A sidecar is the JSON beside a checkpoint with its settings and per-epoch history.")
        }
    }

    /// Writes the sidecar atomically, keys sorted.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(self)
        } catch {
            throw SPConvLabError(.invalidInput, "The training record for \(path) cannot be written as JSON: \(Self.describe(error)). A loss or accuracy that is not a finite number means the run diverged; lower --lr or check the data.")
        }
        try FileBytes.writeAtomically(Array(data) + Array("\n".utf8), to: path)
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): return "the field '\(key.stringValue)' is missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "the field '\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type"
        case DecodingError.dataCorrupted(let context): return "it is not valid JSON (\(context.debugDescription))"
        case EncodingError.invalidValue(let value, _): return "the value \(value) is not a finite number"
        default: return "\(error)"
        }
    }
}
