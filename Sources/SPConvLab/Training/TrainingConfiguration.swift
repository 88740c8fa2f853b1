import Foundation
import SPConvCore
import SPConvKernels

/// How the learning rate moves over a run.
public enum LearningRateSchedule: Hashable, Sendable, Codable {
    /// Half a cosine from the base rate down to 0 at the end of the last epoch.
    case cosine
    /// The base rate times `gamma` for every milestone epoch already reached (PyTorch's `MultiStepLR`).
    case step(milestones: [Int], gamma: Double)

    /// `cosine`, or `step:30,60:0.1` (milestones, then gamma).
    public init?(parsing text: String) {
        if text == "cosine" { self = .cosine; return }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "step", let gamma = Double(parts[2]), gamma > 0, gamma.isFinite else { return nil }
        let milestones = parts[1].split(separator: ",").compactMap { Int($0) }
        guard !milestones.isEmpty, milestones.count == parts[1].split(separator: ",").count, milestones.allSatisfy({ $0 >= 1 })
        else { return nil }
        self = .step(milestones: milestones.sorted(), gamma: gamma)
    }

    public var description: String {
        switch self {
        case .cosine: return "cosine"
        case .step(let milestones, let gamma): return "step:\(milestones.map(String.init).joined(separator: ",")):\(gamma)"
        }
    }
}

/// Everything that decides a training run's result, besides the model and the data.
///
/// Defaults are the CIFAR ResNet recipe scaled to Fashion-MNIST: SGD with momentum 0.9 and
/// weight decay 5e-4, base rate 0.1 for batch 128, one warm-up epoch, cosine decay, random
/// 28x28 crops of the image padded by 2 pixels, and horizontal flips.
public struct TrainingConfiguration: Hashable, Sendable, Codable {
    public var epochs: Int
    public var batchSize = 128
    public var learningRate = 0.1
    public var momentum = 0.9
    public var weightDecay = 5e-4
    public var schedule = LearningRateSchedule.cosine
    /// Epochs over which the rate rises linearly from `learningRate / steps` to `learningRate`.
    public var warmupEpochs = 1
    public var labelSmoothing = 0.0
    public var seed: UInt64 = 0
    /// Zero padding around each training image before the random crop back to its size (0: no crop).
    public var cropPadding = 2
    public var horizontalFlip = true

    public init(epochs: Int) { self.epochs = epochs }

    /// The most epochs a run may ask for: far beyond any recipe, and small enough that the
    /// schedule's step counts (epochs x steps per epoch) cannot overflow.
    public static let maximumEpochs = 100_000

    /// The rate for step `step` (0-based) of epoch `epoch` (0-based), with `stepsPerEpoch` steps each.
    public func learningRate(epoch: Int, step: Int, stepsPerEpoch: Int) -> Double {
        let iteration = epoch * stepsPerEpoch + step
        let warmup = min(warmupEpochs, epochs) * stepsPerEpoch
        if iteration < warmup { return learningRate * Double(iteration + 1) / Double(warmup) }
        switch schedule {
        case .cosine:
            let total = epochs * stepsPerEpoch
            let progress = Double(iteration - warmup) / Double(max(total - warmup, 1))
            return learningRate * 0.5 * (1 + cos(Double.pi * progress))
        case .step(let milestones, let gamma):
            let passed = milestones.filter { epoch >= $0 }.count
            return learningRate * pow(gamma, Double(passed))
        }
    }

    /// Checks every value, naming the flag that would set it.
    public func validate() throws {
        func fail(_ text: String) -> SPConvLabError { SPConvLabError(.invalidConfiguration, text) }
        guard epochs >= 1 else { throw fail("--epochs \(epochs) is not allowed: train for at least 1 epoch.") }
        guard epochs <= TrainingConfiguration.maximumEpochs else {
            throw fail("--epochs \(epochs) is more than \(TrainingConfiguration.maximumEpochs); give 1 to \(TrainingConfiguration.maximumEpochs) epochs (the default recipe trains 15).")
        }
        guard (2...65_536).contains(batchSize) else { throw fail("--batch \(batchSize) is out of range: use 2 to 65536 images per step (batch norm needs at least 2).") }
        guard learningRate.isFinite, learningRate > 0 else { throw fail("--lr \(learningRate) is not a positive number: the learning rate must be greater than 0, for example 0.1.") }
        guard momentum.isFinite, (0..<1).contains(momentum) else { throw fail("--momentum \(momentum) is out of range: use a value in [0, 1), for example 0.9.") }
        guard weightDecay.isFinite, weightDecay >= 0 else { throw fail("--weight-decay \(weightDecay) is not allowed: use 0 or a positive number, for example 5e-4.") }
        guard warmupEpochs >= 0 else { throw fail("--warmup-epochs \(warmupEpochs) is negative: use 0 or more epochs.") }
        guard warmupEpochs <= epochs else { throw fail("--warmup-epochs \(warmupEpochs) is more than --epochs \(epochs); give 0 to \(epochs).") }
        guard labelSmoothing.isFinite, (0..<1).contains(labelSmoothing) else { throw fail("--label-smoothing \(labelSmoothing) is out of range: use a value in [0, 1), for example 0.1.") }
        guard (0...64).contains(cropPadding) else { throw fail("--crop-padding \(cropPadding) is out of range: use 0 (no crop) to 64 pixels.") }
    }
}
