import Foundation
import SPConvCore
import SPConvKernels

/// One finished epoch: what the progress line showed at its end, and the test-set evaluation.
public struct EpochRecord: Codable, Hashable, Sendable {
    /// 1-based.
    public var epoch: Int
    /// The rate of the epoch's last step.
    public var learningRate: Double
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double
    public var testAccuracy: Double
    /// Wall time of the training steps (not the evaluation).
    public var trainSeconds: Double
    public var imagesPerSecond: Double

    public init(epoch: Int, learningRate: Double, trainLoss: Double, trainAccuracy: Double, testLoss: Double,
                testAccuracy: Double, trainSeconds: Double, imagesPerSecond: Double) {
        self.epoch = epoch
        self.learningRate = learningRate
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.trainSeconds = trainSeconds
        self.imagesPerSecond = imagesPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case epoch, learningRate = "learning_rate", trainLoss = "train_loss", trainAccuracy = "train_accuracy"
        case testLoss = "test_loss", testAccuracy = "test_accuracy", trainSeconds = "train_seconds"
        case imagesPerSecond = "images_per_second"
    }
}

/// Where a running epoch is, for progress bars.
public struct TrainingProgress: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var steps: Int
    /// Images trained on so far this epoch, and in the whole epoch.
    public var images: Int
    public var imagesPerEpoch: Int
    /// Running means over the epoch so far.
    public var loss: Double
    public var accuracy: Double
    public var imagesPerSecond: Double
}

/// Trains a network with SGD on a labelled image set, evaluating and checkpointing each epoch.
///
/// A run is a pure function of the model spec, its initial weights, the data and the
/// `TrainingConfiguration`: batches and augmentation are drawn from `(seed, epoch)`, and a
/// checkpoint holds the weights, the running statistics and the momentum buffers, so a run
/// resumed from epoch k's checkpoint ends with the same weights as one that never stopped
/// (bit for bit on one thread).
public final class Trainer {
    public let network: Network
    public let configuration: TrainingConfiguration
    public let trainSet: LabelledImages
    public let testSet: LabelledImages
    public let optimizer: SGD
    public private(set) var history: [EpochRecord] = []
    /// Where each epoch's checkpoint goes (`F.safetensors`, with `F.optim.safetensors` beside it).
    public var checkpointPath: String?
    /// More entries for the checkpoint's safetensors metadata (the store key, say).
    public var checkpointMetadata: [String: String] = [:]

    public init(network: Network, configuration: TrainingConfiguration, trainSet: LabelledImages, testSet: LabelledImages) throws {
        try configuration.validate()
        let spec = network.spec
        for set in [trainSet, testSet] {
            guard set.channels == spec.inputChannels, set.size == spec.inputSize, set.classes <= spec.classes else {
                throw SPConvLabError(.invalidConfiguration, "\(set.name) has \(set.channels)-channel \(set.size)x\(set.size) images in \(set.classes) classes, but the model is built for \(spec.inputChannels) channel(s), \(spec.inputSize)x\(spec.inputSize) and \(spec.classes) classes. Use --in-channels \(set.channels) --input-size \(set.size) --classes \(set.classes).")
            }
        }
        guard trainSet.count >= 2 else {
            throw SPConvLabError(.invalidConfiguration, "\(trainSet.name) has \(trainSet.count) image(s); training needs at least 2.")
        }
        self.network = network
        self.configuration = configuration
        self.trainSet = trainSet
        self.testSet = testSet
        optimizer = SGD(network: network, momentum: Float(configuration.momentum), weightDecay: Float(configuration.weightDecay))
    }

    /// Steps per epoch: the last, partial batch is kept unless it has a single image (batch norm
    /// cannot train on one).
    public var stepsPerEpoch: Int {
        let full = trainSet.count / configuration.batchSize
        return trainSet.count % configuration.batchSize >= 2 ? full + 1 : max(full, 1)
    }

    /// Runs the remaining epochs, calling `progress` during each and `epochFinished` after each
    /// epoch's checkpoint is written.
    public func train(progress: (TrainingProgress) -> Void = { _ in },
                      epochFinished: (EpochRecord) throws -> Void = { _ in }) throws {
        while history.count < configuration.epochs {
            let record = try trainEpoch(history.count, progress: progress)
            history.append(record)
            if let checkpointPath { try saveCheckpoint(to: checkpointPath) }
            try epochFinished(record)
        }
    }

    /// One epoch (0-based index) of training followed by a test-set evaluation.
    public func trainEpoch(_ epoch: Int, progress: (TrainingProgress) -> Void = { _ in }) throws -> EpochRecord {
        let plan = trainSet.epochPlan(seed: configuration.seed, epoch: epoch, cropPadding: configuration.cropPadding,
                                      flip: configuration.horizontalFlip)
        let steps = stepsPerEpoch
        var (lossSum, correct, seen) = (0.0, 0, 0)
        var rate = 0.0
        let clock = Stopwatch.start()
        for step in 0..<steps {
            let start = step * configuration.batchSize
            let end = step == steps - 1 ? min(trainSet.count, start + configuration.batchSize) : start + configuration.batchSize
            let (images, labels) = trainSet.batch(plan.order[start..<end], augment: plan.augmentation[start..<end])
            rate = configuration.learningRate(epoch: epoch, step: step, stepsPerEpoch: steps)
            let result = try self.step(images: images, labels: labels, learningRate: Float(rate))
            guard result.loss.isFinite else {
                throw SPConvLabError(.invalidConfiguration, "Training diverged: the loss of step \(step + 1) of epoch \(epoch + 1) is \(result.loss) (learning rate \(rate)), so the weights are no longer numbers. The last finished epoch's checkpoint is kept. Lower --lr (now \(configuration.learningRate)), add --warmup-epochs, or check the data.")
            }
            lossSum += result.loss * Double(labels.count)
            correct += result.correct
            seen += labels.count
            progress(TrainingProgress(epoch: epoch + 1, epochs: configuration.epochs, step: step + 1, steps: steps,
                                      images: seen, imagesPerEpoch: trainSet.count, loss: lossSum / Double(seen), accuracy: Double(correct) / Double(seen),
                                      imagesPerSecond: Double(seen) / max(clock.seconds, 1e-9)))
        }
        let seconds = clock.seconds
        let test = try evaluate(testSet)
        guard test.loss.isFinite else {
            throw SPConvLabError(.invalidConfiguration, "Training diverged: after epoch \(epoch + 1) the test loss is \(test.loss) while the training loss was \(lossSum / Double(seen)), so some weights or batch-norm statistics are no longer numbers. The last finished epoch's checkpoint is kept. Lower --lr (now \(configuration.learningRate)), add --warmup-epochs, or check the data.")
        }
        return EpochRecord(epoch: epoch + 1, learningRate: rate, trainLoss: lossSum / Double(seen),
                           trainAccuracy: Double(correct) / Double(seen), testLoss: test.loss, testAccuracy: test.accuracy,
                           trainSeconds: seconds, imagesPerSecond: Double(seen) / max(seconds, 1e-9))
    }

    /// One SGD step on a batch: forward in training mode, loss, backward, update.
    public func step(images: Tensor, labels: [Int], learningRate: Float) throws -> (loss: Double, correct: Int) {
        let tape = Tape()
        let logits = try network.graph.runTraining(tape.constant(images), tape: tape, modules: network.modulesByPath)
        let loss = try tape.crossEntropy(logits, labels: labels, labelSmoothing: Float(configuration.labelSmoothing))
        try tape.backward(from: loss)
        try optimizer.step(network, gradients: tape.parameterGradients, learningRate: learningRate)
        let correct = Trainer.correctCount(logits: tape.value(logits), labels: labels)
        return (Double(tape.value(loss).scalars[0]), correct)
    }

    /// Mean cross-entropy (without smoothing) and accuracy on `set`, in inference mode (running statistics).
    public func evaluate(_ set: LabelledImages, batchSize: Int = 500) throws -> (loss: Double, accuracy: Double) {
        var (lossSum, correct) = (0.0, 0)
        for start in stride(from: 0, to: set.count, by: batchSize) {
            let (images, labels) = set.batch(start..<min(set.count, start + batchSize))
            let logits = try network(images)
            lossSum += TrainingKernels.crossEntropy(logits: logits, labels: labels, labelSmoothing: 0).loss * Double(labels.count)
            correct += Trainer.correctCount(logits: logits, labels: labels)
        }
        return (lossSum / Double(max(set.count, 1)), Double(correct) / Double(max(set.count, 1)))
    }

    static func correctCount(logits: Tensor, labels: [Int]) -> Int {
        let k = logits.shape[1]
        return labels.enumerated().filter { row, label in
            let scores = logits.scalars[(row * k)..<((row + 1) * k)]
            return scores.indices.max { scores[$0] < scores[$1] }! - row * k == label
        }.count
    }

    // MARK: Checkpoints

    /// The optimizer-state file beside a checkpoint: `F.safetensors` -> `F.optim.safetensors`.
    public static func optimizerStatePath(for path: String) -> String {
        (path.hasSuffix(".safetensors") ? String(path.dropLast(".safetensors".count)) : path) + ".optim.safetensors"
    }

    /// Writes the weights (PyTorch `state_dict` names) and, beside them, the optimizer state.
    ///
    /// The optimizer state file holds the momentum buffers, a copy of the whole `state_dict`
    /// (under ``modelStatePrefix``), the configuration and the history, in one atomic write: it
    /// alone is enough to resume, so a run killed at any moment, even between the two writes,
    /// resumes from its last finished epoch. The weights file follows, with the network's
    /// configuration (``ModelSpec/checkpointMetadata``) and ``checkpointMetadata`` in its metadata.
    public func saveCheckpoint(to path: String) throws {
        let epoch = String(history.count)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let velocities = optimizer.parameters.compactMap { p in optimizer.velocities[p.name].map { (p.name, $0) } }
        let model = network.stateDict().map { (Trainer.modelStatePrefix + $0.name, $0.tensor) }
        try Safetensors.write(velocities + model, metadata: [
            "epoch": epoch,
            "configuration": String(decoding: try encoder.encode(configuration), as: UTF8.self),
            "history": String(decoding: try encoder.encode(history), as: UTF8.self),
        ], to: Trainer.optimizerStatePath(for: path))
        try saveWeights(to: path)
    }

    /// Writes the weights file alone, with the network's configuration, ``checkpointMetadata``
    /// and the number of finished epochs in its metadata.
    func saveWeights(to path: String) throws {
        var metadata = network.spec.checkpointMetadata.merging(checkpointMetadata) { spec, _ in spec }
        metadata["epoch"] = String(history.count)
        metadata["model"] = network.spec.displayName
        try network.saveWeights(to: path, metadata: metadata)
    }

    /// The epoch recorded in a weights file's metadata, or nil when the file is missing or has none.
    static func weightsEpoch(_ path: String) -> Int? {
        guard FileManager.default.fileExists(atPath: path),
              let text = (try? Safetensors.read(contentsOf: path))?.metadata["epoch"] else { return nil }
        return Int(text)
    }

    /// The prefix of the `state_dict` copy in an optimizer state file.
    public static let modelStatePrefix = "model."

    /// Continues from the checkpoint at `path` (and its optimizer state): weights, running
    /// statistics, momentum buffers and history. The configuration must match this trainer's,
    /// except that `epochs` may grow.
    public func resume(from path: String) throws {
        let optimizerPath = Trainer.optimizerStatePath(for: path)
        guard FileManager.default.fileExists(atPath: optimizerPath) else {
            throw SPConvLabError(.io, "--resume needs the optimizer state \(optimizerPath) beside the checkpoint \(path), and it does not exist. Start without --resume, or give the --output of the run to continue.")
        }
        let state = try Safetensors.read(contentsOf: optimizerPath)
        let decoder = JSONDecoder()
        guard let epochText = state.metadata["epoch"], let epoch = Int(epochText),
              let configurationText = state.metadata["configuration"], let historyText = state.metadata["history"],
              let saved = try? decoder.decode(TrainingConfiguration.self, from: Data(configurationText.utf8)),
              let savedHistory = try? decoder.decode([EpochRecord].self, from: Data(historyText.utf8)),
              savedHistory.count == epoch
        else {
            throw SPConvLabError(.invalidWeights, "\(optimizerPath) is not an optimizer state written by probe-cli train (its metadata lacks a readable epoch, configuration or history).")
        }
        var comparable = saved
        comparable.epochs = configuration.epochs
        guard comparable == configuration else {
            throw SPConvLabError(.invalidConfiguration, "The checkpoint \(path) was trained with \(TrainingConfiguration.describeDifferences(saved, configuration)); --resume continues a run only with the same settings (only --epochs may grow).")
        }
        guard epoch <= configuration.epochs else {
            throw SPConvLabError(.invalidConfiguration, "The checkpoint \(path) has already run \(epoch) epochs, more than --epochs \(configuration.epochs).")
        }
        var model: [String: Tensor] = [:], velocities: [String: Tensor] = [:]
        for (name, tensor) in state.tensors {
            if name.hasPrefix(Trainer.modelStatePrefix) {
                model[String(name.dropFirst(Trainer.modelStatePrefix.count))] = tensor
            } else {
                velocities[name] = tensor
            }
        }
        if model.isEmpty {
            // An optimizer state from before the model copy: the weights file must be of the same epoch.
            guard FileManager.default.fileExists(atPath: path) else {
                throw SPConvLabError(.io, "--resume needs the checkpoint \(path) beside its optimizer state \(optimizerPath), and it does not exist.")
            }
            let weights = try Safetensors.read(contentsOf: path)
            guard weights.metadata["epoch"] == epochText else {
                throw SPConvLabError(.invalidWeights, "The checkpoint \(path) is from epoch \(weights.metadata["epoch"] ?? "unknown") but its optimizer state \(optimizerPath) is from epoch \(epoch): the run was stopped while writing them. Resume is not possible from this pair; start again without --resume.")
            }
            model = weights.tensors
        }
        try network.load(model, source: "\(path) (its model state in \(optimizerPath))")
        let missing = optimizer.parameters.map(\.name).filter { velocities[$0] == nil }
        if epoch >= 1 && !missing.isEmpty {
            throw SPConvLabError(.invalidWeights, "The optimizer state \(optimizerPath) lacks the momentum buffer of \(missing.count) parameter(s) (\(missing.prefix(3).joined(separator: ", "))\(missing.count > 3 ? ", ..." : "")); after epoch \(epoch) every parameter has one. The file is damaged; start the run again.")
        }
        try optimizer.restore(velocities, network: network, source: optimizerPath)
        history = savedHistory
        // A kill between the two writes of an epoch leaves the weights file an epoch behind (or
        // missing): bring it level now, so that a run resumed after its last epoch, which trains
        // nothing more, does not keep the stale file.
        if Trainer.weightsEpoch(path) != epoch { try saveWeights(to: path) }
    }
}

extension TrainingConfiguration {
    /// `--lr 0.1 (now 0.05), --seed 1 (now 2)`: the settings of `saved` that differ from `current`.
    static func describeDifferences(_ saved: TrainingConfiguration, _ current: TrainingConfiguration) -> String {
        var parts: [String] = []
        func compare<T: Equatable>(_ flag: String, _ a: T, _ b: T) { if a != b { parts.append("\(flag) \(a) (now \(b))") } }
        compare("--batch", saved.batchSize, current.batchSize)
        compare("--lr", saved.learningRate, current.learningRate)
        compare("--momentum", saved.momentum, current.momentum)
        compare("--weight-decay", saved.weightDecay, current.weightDecay)
        compare("--schedule", saved.schedule.description, current.schedule.description)
        compare("--warmup-epochs", saved.warmupEpochs, current.warmupEpochs)
        compare("--label-smoothing", saved.labelSmoothing, current.labelSmoothing)
        compare("--seed", saved.seed, current.seed)
        compare("--crop-padding", saved.cropPadding, current.cropPadding)
        compare("--flip", saved.horizontalFlip, current.horizontalFlip)
        return parts.joined(separator: ", ")
    }
}
