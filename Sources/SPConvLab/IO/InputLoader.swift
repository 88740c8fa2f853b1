import Foundation
import SPConvCore
import SPConvKernels

/// Loads a model input from a path: a `.npy` float32 NCHW tensor used as is, one PNG file, or a
/// folder of PNG files (decoded, resized, centre-cropped and normalised by `ImagePreprocessor`).
public struct InputLoader: Sendable {
    public let input: InputSpec
    public let normalization: Normalization

    public init(input: InputSpec, normalization: Normalization? = nil) {
        self.input = input
        self.normalization = normalization ?? input.defaultNormalization
    }

    public init(spec: ModelSpec, normalization: Normalization? = nil) {
        self.init(input: InputSpec(spec), normalization: normalization)
    }

    /// The batch `[N, C_in, S, S]` and a label per sample (file name, or `sample k` for `.npy`).
    public func load(_ path: String) throws -> (batch: Tensor, labels: [String]) {
        if path.lowercased().hasSuffix(".npy") {
            let tensor = try NPYFile.read(contentsOf: path)
            guard tensor.rank == 4, tensor.shape[1] == input.channels, tensor.shape[0] >= 1 else {
                throw SPConvLabError(.invalidInput, "The array in \(path) has shape \(tensor.shape); \(input.name) needs a float32 NCHW array of shape [N, \(input.channels), H, W] with N >= 1.")
            }
            let nonFinite = tensor.scalars.lazy.filter { !$0.isFinite }.count
            guard nonFinite == 0 else {
                let first = tensor.scalars.firstIndex { !$0.isFinite }!
                throw SPConvLabError(.invalidInput, "The array in \(path) holds \(nonFinite) non-finite value(s) (NaN or infinity), the first at flat index \(first); a model input must be finite numbers.")
            }
            return (tensor, (0..<tensor.shape[0]).map { "sample \($0)" })
        }
        let images = try ImagePreprocessor.loadImages(at: path)
        let preprocessor = try ImagePreprocessor(inputChannels: input.channels, inputSize: input.size,
                                                 normalization: normalization)
        return (preprocessor.tensor(for: images.map(\.image)),
                images.map { URL(fileURLWithPath: $0.path).lastPathComponent })
    }
}

extension Normalization {
    /// The normalisation a zoo model expects by default: ImageNet statistics for resnet18/50,
    /// Fashion-MNIST's for 1-channel CIFAR-style models, CIFAR-10's for 3-channel ones.
    public static func `default`(for spec: ModelSpec) -> Normalization {
        if !spec.architecture.isCIFAR { return spec.inputChannels == 3 ? .imagenet : .identity }
        switch spec.inputChannels {
        case 1: return .fashionMNIST
        case 3: return .cifar10
        default: return .identity
        }
    }
}

/// Human-readable class names for the datasets the zoo's defaults stand for.
public enum ClassNames {
    public static let cifar10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    public static let fashionMNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                                      "Bag", "Ankle boot"]

    /// Names for a model's outputs: Fashion-MNIST's for 1-channel 10-class models, CIFAR-10's for
    /// 3-channel 10-class models, otherwise `class k`.
    public static func names(for spec: ModelSpec) -> [String] {
        if spec.classes == 10 && spec.inputChannels == 1 { return fashionMNIST }
        if spec.classes == 10 && spec.inputChannels == 3 { return cifar10 }
        return (0..<spec.classes).map { "class \($0)" }
    }
}
