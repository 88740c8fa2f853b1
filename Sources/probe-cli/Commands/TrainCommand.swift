import ArgumentParser
import Foundation
import SPConvLab

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a zoo model (vanilla or SPConv) on Fashion-MNIST, with a checkpoint each epoch.",
        discussion: """
        SGD with momentum and weight decay (PyTorch's semantics), batch norm in training mode, \
        cross-entropy (optionally label-smoothed), a linear warm-up then a cosine or step schedule, \
        seeded shuffling, and random crops of the zero-padded image plus horizontal flips. After \
        every epoch the model is evaluated on the 10,000 test images and a checkpoint is written: \
        --output (a PyTorch state_dict as safetensors, loadable with --weights elsewhere and by \
        torch), the optimizer state beside it (F.optim.safetensors), and a JSON sidecar F.json \
        with every setting, the seed, the per-epoch history, the final and best test accuracy, \
        the wall time and the data normalisation. --resume continues a stopped run from its last \
        checkpoint; with the same settings it ends with the same weights as a run that never \
        stopped (bit for bit with --threads 1).

        For fashion-mnist the model gets 1 input channel, 28x28 inputs and 10 classes unless \
        --in-channels, --input-size or --classes say otherwise; images are normalised with mean \
        0.2860 and std 0.3530.

        Example: probe-cli train --model resnet20 --variant spconv --epochs 12 --output resnet20_spconv.safetensors
        """)

    @OptionGroup var model: ModelOptions

    @Option(help: "Training data: fashion-mnist (Debian's dataset-fashion-mnist).")
    var dataset: String = "fashion-mnist"

    @Option(name: .customLong("data-dir"), help: "Folder of the Fashion-MNIST IDX files (.gz or plain).")
    var dataDirectory: String = FashionMNIST.defaultFolder

    @Option(help: "Epochs to train (at least 1).")
    var epochs: Int

    @Option(help: "Images per SGD step (at least 2).")
    var batch: Int = 128

    @Option(help: "Base learning rate, a positive number.")
    var lr: String = "0.1"

    @Option(help: "SGD momentum in [0, 1).")
    var momentum: Double = 0.9

    @Option(name: .customLong("weight-decay"), help: "L2 weight decay, applied to every parameter as PyTorch's SGD does.")
    var weightDecay: Double = 5e-4

    @Option(help: "Learning-rate schedule: cosine, or step:M1,M2:GAMMA (multiply by GAMMA at epochs M1, M2).")
    var schedule: String = "cosine"

    @Option(name: .customLong("warmup-epochs"), help: "Epochs of linear warm-up before the schedule.")
    var warmupEpochs: Int = 1

    @Option(name: .customLong("label-smoothing"), help: "Label smoothing of the cross-entropy, in [0, 1).")
    var labelSmoothing: Double = 0

    @Option(help: "Seed of the initial weights, the shuffling and the augmentation.")
    var seed: UInt64 = 0

    @Option(name: .customLong("crop-padding"), help: "Zero padding before the random crop, in pixels (0: no crop).")
    var cropPadding: Int = 2

    @Flag(name: .customLong("no-flip"), help: "Do not flip training images horizontally.")
    var noFlip = false

    @Option(help: "Train on the first N training images only (for quick runs).")
    var limit: Int?

    @Option(name: .customLong("test-limit"), help: "Evaluate on the first N test images only.")
    var testLimit: Int?

    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    @Option(help: "Checkpoint to write each epoch (.safetensors); F.optim.safetensors and F.json go beside it.")
    var output: String?

    @Flag(help: "Continue the run whose checkpoint is --output (same settings; --epochs may grow).")
    var resume = false

    func validate() throws {
        guard dataset == "fashion-mnist" else {
            throw ValidationError("--dataset '\(dataset)' is not known; the training data this tool reads is fashion-mnist (Debian package \(FashionMNIST.debianPackage), files under \(FashionMNIST.defaultFolder)).")
        }
        guard epochs >= 1 else { throw ValidationError("--epochs \(epochs) is not allowed: train for at least 1 epoch.") }
        guard let rate = Double(lr), rate.isFinite, rate > 0 else {
            throw ValidationError("--lr '\(lr)' is not a positive number; give the base learning rate as a decimal greater than 0, for example 0.1 or 5e-2.")
        }
        guard LearningRateSchedule(parsing: schedule) != nil else {
            throw ValidationError("--schedule '\(schedule)' is not known; use cosine, or step:M1,M2:GAMMA with epochs M >= 1 and a positive GAMMA, for example step:6,9:0.1.")
        }
        if let limit, limit < 2 { throw ValidationError("--limit \(limit) is too small: training needs at least 2 images.") }
        if let testLimit, testLimit < 1 { throw ValidationError("--test-limit \(testLimit) must be at least 1.") }
        if let threads, threads < 1 { throw ValidationError("--threads \(threads) must be at least 1.") }
        if let output, !output.hasSuffix(".safetensors") {
            throw ValidationError("--output '\(output)' must end in .safetensors (the optimizer state and the .json sidecar are named after it).")
        }
        if resume && output == nil { throw ValidationError("--resume needs --output: the checkpoint of the run to continue.") }
        do { try trainingConfiguration().validate() } catch let error as SPConvLabError { throw ValidationError(error.message) }
    }

    func trainingConfiguration() -> TrainingConfiguration {
        var configuration = TrainingConfiguration(epochs: epochs)
        configuration.batchSize = batch
        configuration.learningRate = Double(lr) ?? 0
        configuration.momentum = momentum
        configuration.weightDecay = weightDecay
        configuration.schedule = LearningRateSchedule(parsing: schedule) ?? .cosine
        configuration.warmupEpochs = warmupEpochs
        configuration.labelSmoothing = labelSmoothing
        configuration.seed = seed
        configuration.cropPadding = cropPadding
        configuration.horizontalFlip = !noFlip
        return configuration
    }

    /// The model spec with Fashion-MNIST's shape filled in where the flags left the defaults.
    func spec() throws -> ModelSpec {
        var spec = try model.spec()
        if model.inChannels == 3 { spec.inputChannels = 1 }
        if model.inputSize == nil { spec.inputSize = FashionMNIST.imageSize }
        if model.classes == nil { spec.classes = 10 }
        return spec
    }

    func run() throws {
        try reportingFailures {
            _ = ToolInfo.gitCommit  // the checkout's HEAD now, not when the first sidecar is written
            if let threads { Engine.setThreads(threads) }
            let spec = try spec()
            let configuration = trainingConfiguration()
            let output = self.output ?? "\(spec.architecture.rawValue)_\(spec.variant.spconvConfiguration == nil ? "vanilla" : "spconv").safetensors"
            let folder = URL(fileURLWithPath: output).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue,
                  FileManager.default.isWritableFile(atPath: folder) else {
                throw SPConvLabError(.io, "--output \(output): the folder \(folder) does not exist or is not writable; create it first or choose another path. Nothing was trained.")
            }
            if !resume && FileManager.default.fileExists(atPath: output) {
                printError("note: \(output) exists and will be replaced after the first epoch (use --resume to continue it instead).")
            }
            let network = try Network(spec, seed: seed)
            if let weights = model.weights { try network.loadWeights(contentsOf: weights) }
            let trainSet = LabelledImages(try FashionMNIST(split: .train, folder: dataDirectory, limit: limit))
            let testSet = LabelledImages(try FashionMNIST(split: .test, folder: dataDirectory, limit: testLimit))
            let trainer = try Trainer(network: network, configuration: configuration, trainSet: trainSet, testSet: testSet)
            trainer.checkpointPath = output
            if resume {
                try trainer.resume(from: output)
                printError("resuming \(output) after epoch \(trainer.history.count) of \(epochs)")
            }
            printError("training \(spec.displayName) on \(trainSet.count) images (\(trainer.stepsPerEpoch) steps of \(batch) per epoch), \(Engine.threads) thread(s), testing on \(testSet.count)")
            let sidecar = Self.sidecarPath(for: output)
            let clock = Stopwatch.start()
            let previousSeconds = resume ? (try? TrainingSidecar.read(sidecar))?.wallSeconds ?? 0 : 0
            var bar: ProgressBar?
            try trainer.train(progress: { p in
                if p.step == 1 { bar = ProgressBar("epoch \(p.epoch)/\(p.epochs)") }
                bar?.update(p.images, of: p.imagesPerEpoch,
                            note: String(format: "loss %.4f, acc %.2f%%", p.loss, 100 * p.accuracy))
            }, epochFinished: { record in
                bar?.close()
                printError(String(format: "epoch %d/%d: lr %.5f, train loss %.4f acc %.2f%%, test loss %.4f acc %.2f%%, %.0f images/s",
                                  record.epoch, epochs, record.learningRate, record.trainLoss, 100 * record.trainAccuracy,
                                  record.testLoss, 100 * record.testAccuracy, record.imagesPerSecond))
                try TrainingSidecar(command: self, spec: spec, configuration: configuration, history: trainer.history,
                                    trainCount: trainSet.count, testCount: testSet.count,
                                    wallSeconds: previousSeconds + clock.seconds).write(to: sidecar)
            })
            let best = trainer.history.max { $0.testAccuracy < $1.testAccuracy }!
            print(String(format: "%@: final test accuracy %.2f%% (best %.2f%% at epoch %d); wrote %@, %@ and %@",
                         spec.displayName, 100 * trainer.history.last!.testAccuracy, 100 * best.testAccuracy, best.epoch,
                         output, Trainer.optimizerStatePath(for: output), sidecar))
        }
    }

    /// `F.safetensors` -> `F.json`.
    static func sidecarPath(for output: String) -> String {
        String(output.dropLast(".safetensors".count)) + ".json"
    }
}

/// The JSON written beside a trained checkpoint: how it was made and how well it did.
struct TrainingSidecar: Codable {
    var tool = "probe-cli train"
    var toolVersion = ToolInfo.version
    var gitCommit = ToolInfo.gitCommit
    var command: [String]
    var model: String
    var variant: String
    var ratio: Double?
    var groups: Int?
    var inChannels: Int
    var classes: Int
    var inputSize: Int
    var dataset = "fashion-mnist"
    var trainImages: Int
    var testImages: Int
    var normalization: [String: [Float]]
    var epochs: Int
    var completedEpochs: Int
    var finished: Bool
    var batch: Int
    var learningRate: Double
    var momentum: Double
    var weightDecay: Double
    var schedule: String
    var warmupEpochs: Int
    var labelSmoothing: Double
    var seed: UInt64
    var cropPadding: Int
    var horizontalFlip: Bool
    var threads: Int
    var finalTestAccuracy: Double
    var bestTestAccuracy: Double
    var bestEpoch: Int
    var wallSeconds: Double
    var trainImagesPerSecond: Double
    var history: [EpochRecord]

    enum CodingKeys: String, CodingKey {
        case tool, toolVersion = "tool_version", gitCommit = "git_commit", command, model, variant, ratio, groups
        case inChannels = "in_channels", classes, inputSize = "input_size", dataset, trainImages = "train_images"
        case testImages = "test_images", normalization, epochs, completedEpochs = "completed_epochs", finished, batch
        case learningRate = "learning_rate", momentum, weightDecay = "weight_decay", schedule, warmupEpochs = "warmup_epochs"
        case labelSmoothing = "label_smoothing", seed, cropPadding = "crop_padding", horizontalFlip = "horizontal_flip"
        case threads, finalTestAccuracy = "final_test_accuracy", bestTestAccuracy = "best_test_accuracy"
        case bestEpoch = "best_epoch", wallSeconds = "wall_seconds", trainImagesPerSecond = "train_images_per_second", history
    }

    init(command: TrainCommand, spec: ModelSpec, configuration c: TrainingConfiguration, history: [EpochRecord],
         trainCount: Int, testCount: Int, wallSeconds: Double) {
        self.command = CommandLine.arguments
        model = spec.architecture.rawValue
        variant = spec.variant.spconvConfiguration == nil ? "vanilla" : "spconv"
        ratio = spec.variant.spconvConfiguration?.ratio
        groups = spec.variant.spconvConfiguration?.groups
        inChannels = spec.inputChannels
        classes = spec.classes
        inputSize = spec.inputSize
        trainImages = trainCount
        testImages = testCount
        normalization = ["mean": FashionMNIST.normalization.mean, "std": FashionMNIST.normalization.std]
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
        threads = Engine.threads
        finalTestAccuracy = history.last?.testAccuracy ?? 0
        let best = history.max { $0.testAccuracy < $1.testAccuracy }
        bestTestAccuracy = best?.testAccuracy ?? 0
        bestEpoch = best?.epoch ?? 0
        self.wallSeconds = wallSeconds
        let (images, seconds) = history.reduce((0.0, 0.0)) { ($0.0 + $1.imagesPerSecond * $1.trainSeconds, $0.1 + $1.trainSeconds) }
        trainImagesPerSecond = seconds > 0 ? images / seconds : 0
        self.history = history
    }

    static func read(_ path: String) throws -> TrainingSidecar {
        try JSONDecoder().decode(TrainingSidecar.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    func write(to path: String) throws {
        try FileBytes.writeText(try jsonText(self) + "\n", to: path)
    }
}
