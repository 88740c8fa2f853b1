import SPConvCore
import SPConvKernels

/// Fashion-MNIST images as model inputs, preprocessed batch by batch.
///
/// Each 28 x 28 gray image goes through the documented ``ImagePreprocessor`` steps for the
/// model's input, so dataset images and PNG files are treated identically: pixels are divided by
/// 255 and normalised with Fashion-MNIST's mean 0.2860 and std 0.3530 (unless another
/// normalisation is given); a 3-channel model gets the gray channel replicated into R, G and B;
/// a model whose input size is not 28 gets the image resized bilinearly (half-pixel centres, no
/// antialiasing) so its side equals the input size. At size 28 the resize is the identity.
///
/// Batches have shape `[n, C_in, S, S]`; sample `k` is labelled `test[k]` or `train[k]`.
public struct FashionMNISTBatchSource: BatchSource, Sendable {
    /// The images and labels.
    public let dataset: FashionMNIST
    /// The preprocessing for the model the source was made for.
    public let preprocessor: ImagePreprocessor

    /// Creates a batch source over `dataset` for the model `spec`.
    ///
    /// - Throws: ``SPConvLabError`` of kind `invalidConfiguration` when the model has neither 1 nor
    ///   3 input channels, or `normalization` does not fit them (see ``ImagePreprocessor``).
    public init(dataset: FashionMNIST, spec: ModelSpec, normalization: Normalization = FashionMNIST.normalization) throws {
        try self.init(dataset: dataset, input: InputSpec(spec), normalization: normalization)
    }

    /// Creates a batch source over `dataset` for a model that takes `input`.
    public init(dataset: FashionMNIST, input: InputSpec, normalization: Normalization = FashionMNIST.normalization) throws {
        self.dataset = dataset
        self.preprocessor = try ImagePreprocessor(inputChannels: input.channels, inputSize: input.size,
                                                  normalization: normalization)
    }

    public var count: Int { dataset.count }

    public func label(of index: Int) -> String { "\(dataset.split.rawValue)[\(index)]" }

    public var classNames: [String]? { FashionMNIST.classNames }

    public func classIndex(of index: Int) -> Int? { Int(dataset.labels[index]) }

    public func batch(_ range: Range<Int>) throws -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= count,
                     "batch \(range) is outside the \(count) Fashion-MNIST images")
        return preprocessor.tensor(for: range.map { dataset.image(at: $0) })
    }
}
