/// A channel-by-channel similarity matrix of one captured layer.
///
/// `values` is symmetric, row-major `channels x channels`, with 1 on the diagonal and entries in
/// `[-1, 1]`. A dead channel (zero norm for cosine, zero variance for pearson; see
/// docs/REDUNDANCY.md for the tolerance) has similarity 0 with every other channel.
public struct SimilarityMatrix: Sendable, Equatable {
    /// Number of channels `C`.
    public let channels: Int
    /// `C * C` similarities, row-major.
    public let values: [Float]
    /// The metric the values were computed with.
    public let metric: SimilarityMetric
    /// How images were combined.
    public let reduction: SimilarityReduction
    /// Number of images accumulated.
    public let images: Int
    /// Channels found dead, ascending (for `.perImage`: dead in every image).
    public let deadChannels: [Int]

    /// Creates a matrix from its parts.
    ///
    /// - Precondition: `values.count == channels * channels`.
    public init(channels: Int, values: [Float], metric: SimilarityMetric, reduction: SimilarityReduction,
                images: Int, deadChannels: [Int]) {
        precondition(values.count == channels * channels,
                     "a \(channels)-channel similarity matrix needs \(channels * channels) values, got \(values.count)")
        self.channels = channels
        self.values = values
        self.metric = metric
        self.reduction = reduction
        self.images = images
        self.deadChannels = deadChannels
    }

    /// The similarity of channels `i` and `j`.
    public subscript(i: Int, j: Int) -> Float {
        values[i * channels + j]
    }
}
