import SPConvCore
import SPConvKernels

/// A sequence of model inputs that is read batch by batch, so that memory does not grow with the
/// number of images (10,000 Fashion-MNIST images are never all decoded at once).
public protocol BatchSource {
    /// Total number of samples.
    var count: Int { get }
    /// A label per sample for reports (file name, `test[17]`, `sample 3`).
    func label(of index: Int) -> String
    /// The samples `range` as a row-major NCHW float tensor `[range.count, C, S, S]`, preprocessed
    /// for the model the source was made for.
    func batch(_ range: Range<Int>) throws -> Tensor
    /// The class names of a labelled source (a dataset, an ImageFolder tree), in class-index order;
    /// nil when the samples have no ground truth.
    var classNames: [String]? { get }
    /// The true class index of sample `index` of a labelled source, nil otherwise.
    func classIndex(of index: Int) -> Int?
}

extension BatchSource {
    public var classNames: [String]? { nil }
    public func classIndex(of index: Int) -> Int? { nil }
}

extension BatchSource {
    /// Calls `body` with consecutive batches of at most `size` samples and their first index.
    public func forEachBatch(size: Int, _ body: (_ start: Int, _ batch: Tensor) throws -> Void) throws {
        precondition(size >= 1, "batch size must be at least 1, got \(size)")
        var start = 0
        while start < count {
            let end = min(start + size, count)
            try body(start, try batch(start..<end))
            start = end
        }
    }
}

/// A batch source over a tensor already in memory (a `.npy` file), sliced along the batch axis.
public struct TensorBatchSource: BatchSource {
    public let tensor: Tensor
    public let name: String

    public init(_ tensor: Tensor, name: String = "sample") {
        precondition(tensor.rank == 4 && tensor.layout == .rowMajor, "a batch source holds a row-major NCHW tensor")
        self.tensor = tensor
        self.name = name
    }

    public var count: Int { tensor.shape[0] }
    public func label(of index: Int) -> String { "\(name) \(index)" }

    public func batch(_ range: Range<Int>) throws -> Tensor {
        let per = tensor.shape.dropFirst().reduce(1, *)
        return Tensor(shape: [range.count] + tensor.shape.dropFirst(),
                      scalars: Array(tensor.scalars[(range.lowerBound * per)..<(range.upperBound * per)]))
    }
}
