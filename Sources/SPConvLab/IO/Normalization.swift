import SPConvCore
import SPConvKernels

/// Per-channel normalisation `(x - mean[c]) / std[c]` applied to pixel values already scaled to [0, 1].
///
/// `mean` and `std` hold either one value per model input channel, or a single value that
/// applies to every channel (as with torchvision's `Normalize((0.5,), (0.5,))`).
public struct Normalization: Sendable, Equatable {
    /// Subtracted from each channel.
    public let mean: [Float]
    /// Each channel is divided by this after subtracting the mean.
    public let std: [Float]

    /// Creates a normalisation.
    ///
    /// - Precondition: `mean` and `std` are non-empty and equally long, and every `std` is positive.
    public init(mean: [Float], std: [Float]) {
        precondition(!mean.isEmpty && mean.count == std.count,
                     "normalisation needs as many means as standard deviations (at least one), got \(mean) and \(std)")
        precondition(std.allSatisfy { $0 > 0 }, "normalisation standard deviations must be positive, got \(std)")
        self.mean = mean
        self.std = std
    }

    /// Number of channels the values are given for (1 means "every channel").
    public var channelCount: Int { mean.count }

    /// The ImageNet statistics used by torchvision's pretrained models:
    /// mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225). RGB, 3 channels.
    public static let imagenet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    /// CIFAR-10 training-set statistics: mean (0.4914, 0.4822, 0.4465),
    /// std (0.2470, 0.2435, 0.2616). RGB, 3 channels.
    public static let cifar10 = Normalization(mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616])

    /// Fashion-MNIST training-set statistics: mean 0.2860, std 0.3530. Gray, 1 channel.
    public static let fashionMNIST = Normalization(mean: [0.2860], std: [0.3530])

    /// No normalisation: mean 0, std 1 for every channel, leaving values in [0, 1].
    public static let identity = Normalization(mean: [0], std: [1])

    /// The mean and std of channel `channel`, broadcasting a single value to every channel.
    func parameters(forChannel channel: Int) -> (mean: Float, std: Float) {
        channelCount == 1 ? (mean[0], std[0]) : (mean[channel], std[channel])
    }
}
