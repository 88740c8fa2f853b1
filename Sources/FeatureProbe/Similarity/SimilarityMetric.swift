/// How the similarity of two channels is measured (see docs/REDUNDANCY.md).
///
/// Each channel is the vector of its activations over all images and positions.
public enum SimilarityMetric: String, CaseIterable, Codable, Sendable {
    /// `s(a, b) = <a, b> / (|a| |b|)`.
    case cosine
    /// The cosine of the mean-centred vectors (Pearson's correlation coefficient).
    case pearson
}

/// How activations of several images are combined into one similarity matrix.
public enum SimilarityReduction: String, CaseIterable, Codable, Sendable {
    /// One vector per channel over all images and positions.
    case pooled
    /// One matrix per image (vectors over that image's positions), averaged over the images.
    case perImage = "per-image"
}
