import Foundation
import SPConvLab

/// Two channels and their similarity.
public struct ChannelPair: Sendable, Codable, Equatable {
    /// The lower channel index.
    public var first: Int
    /// The higher channel index.
    public var second: Int
    /// Their similarity.
    public var similarity: Float

    public init(first: Int, second: Int, similarity: Float) {
        self.first = first
        self.second = second
        self.similarity = similarity
    }
}

/// The redundancy summary of one layer's channel similarity matrix (docs/REDUNDANCY.md).
///
/// The scalar fields are the columns of `summary.csv` (their coding keys are the column names);
/// the lists detail them. A near-duplicate pair is a pair of distinct channels with similarity
/// `s >= threshold` (signed: anti-correlated channels are not duplicates).
public struct LayerSummary: Sendable, Codable, Equatable {
    /// Number of channels `C`.
    public var channels: Int
    /// The metric of the matrix.
    public var metric: SimilarityMetric
    /// How images were combined.
    public var reduction: SimilarityReduction
    /// Number of images behind the matrix.
    public var images: Int
    /// The similarity threshold `t` in [0, 1].
    public var threshold: Double
    /// Mean of `|s_ij|` over the pairs `i < j` (0 when `C == 1`).
    public var meanAbsOffDiagonal: Double
    /// Fraction of the pairs `i < j` with `s_ij >= t`.
    public var fractionAboveThreshold: Double
    /// Number of near-duplicate pairs (`s_ij >= t`, `i < j`).
    public var duplicates: Int
    /// Number of dead channels.
    public var dead: Int
    /// Number of clusters of average-linkage clustering cut at distance `1 - t`.
    public var clusters: Int
    /// `exp(H)`, `H` the entropy of the normalised eigenvalues of the similarity matrix.
    public var effectiveRank: Double
    /// `clusters / channels`, comparable with an SPConv layer's ratio of representative channels.
    public var suggestedRatio: Double
    /// The near-duplicate pairs, by decreasing similarity (ties by index).
    public var duplicatePairs: [ChannelPair]
    /// The dead channels, ascending.
    public var deadChannels: [Int]
    /// The members of each cluster, ascending, clusters ordered by their smallest member.
    public var clusterMembers: [[Int]]
    /// One channel per cluster (same order as `clusterMembers`): the member with the highest mean
    /// similarity to the other members (the lowest index on ties; itself for a singleton).
    public var representatives: [Int]
    /// All channels in dendrogram leaf order (alive channels, then dead ones), for heatmaps.
    public var clusteredOrder: [Int]

    enum CodingKeys: String, CodingKey {
        case channels, metric, reduction, images, threshold
        case meanAbsOffDiagonal = "mean_abs_offdiag"
        case fractionAboveThreshold = "frac_above_threshold"
        case duplicates, dead, clusters
        case effectiveRank = "effective_rank"
        case suggestedRatio = "suggested_ratio"
        case duplicatePairs = "duplicate_pairs"
        case deadChannels = "dead_channels"
        case clusterMembers = "cluster_members"
        case representatives
        case clusteredOrder = "clustered_order"
    }

    /// The default similarity threshold.
    public static let defaultThreshold = 0.9

    /// Summarises a similarity matrix.
    ///
    /// - Parameters:
    ///   - matrix: a layer's similarity matrix.
    ///   - threshold: `t` in [0, 1]; pairs with `s >= t` are near-duplicates and clusters are cut
    ///     where the average similarity between two clusters falls below `t`.
    /// - Throws: `FeatureProbeError` when `threshold` is outside [0, 1] or LAPACK cannot find the
    ///   eigenvalues.
    public init(matrix: SimilarityMatrix, threshold: Double = LayerSummary.defaultThreshold) throws {
        guard threshold >= 0, threshold <= 1 else {
            throw FeatureProbeError("The similarity threshold must be a number in [0, 1] (pairs with similarity at or above it count as near-duplicates), got \(threshold); the default is \(LayerSummary.defaultThreshold).")
        }
        let c = matrix.channels
        let s = matrix.values
        channels = c
        metric = matrix.metric
        reduction = matrix.reduction
        images = matrix.images
        self.threshold = threshold

        var absoluteTotal = 0.0
        var pairs: [ChannelPair] = []
        for i in 0..<c {
            for j in (i + 1)..<max(c, i + 1) {
                let value = s[i * c + j]
                absoluteTotal += Double(abs(value))
                if Double(value) >= threshold { pairs.append(ChannelPair(first: i, second: j, similarity: value)) }
            }
        }
        let pairCount = c * (c - 1) / 2
        meanAbsOffDiagonal = pairCount > 0 ? absoluteTotal / Double(pairCount) : 0
        duplicates = pairs.count
        fractionAboveThreshold = pairCount > 0 ? Double(pairs.count) / Double(pairCount) : 0
        duplicatePairs = pairs.sorted { ($1.similarity, $0.first, $0.second) < ($0.similarity, $1.first, $1.second) }
        deadChannels = matrix.deadChannels
        dead = deadChannels.count

        // Clustering of the alive channels on d = 1 - s; each dead channel is a cluster of its own.
        let deadSet = Set(deadChannels)
        let alive = (0..<c).filter { !deadSet.contains($0) }
        var distances = [Double](repeating: 0, count: alive.count * alive.count)
        for (a, i) in alive.enumerated() {
            for (b, j) in alive.enumerated() where a != b { distances[a * alive.count + b] = 1 - Double(s[i * c + j]) }
        }
        let linkage = AverageLinkage(distances: distances, count: alive.count)
        let groups = linkage.clusters(cut: (1 - threshold) + 1e-9).map { $0.map { alive[$0] } }
            + deadChannels.map { [$0] }
        clusterMembers = groups.sorted { $0[0] < $1[0] }
        representatives = clusterMembers.map { members in
            guard members.count > 1 else { return members[0] }
            var best = members[0], bestMean = -Double.infinity
            for i in members {
                let mean = members.reduce(0.0) { $0 + ($1 == i ? 0 : Double(s[i * c + $1])) } / Double(members.count - 1)
                if mean > bestMean { (best, bestMean) = (i, mean) }
            }
            return best
        }
        clusters = clusterMembers.count
        suggestedRatio = Double(clusters) / Double(c)
        clusteredOrder = linkage.leafOrder.map { alive[$0] } + deadChannels

        effectiveRank = try Self.effectiveRank(of: matrix)
    }

    /// `exp(-sum p_i log p_i)` with `p_i = max(lambda_i, 0) / sum max(lambda_k, 0)` over the
    /// eigenvalues `lambda` of the similarity matrix; 0 for an all-zero spectrum.
    ///
    /// - Throws: `FeatureProbeError` when LAPACK's `dsyevd` fails (a matrix with NaN).
    public static func effectiveRank(of matrix: SimilarityMatrix) throws -> Double {
        let eigenvalues: [Double]
        do {
            eigenvalues = try LinearAlgebra.symmetricEigenvalues(matrix.values.map(Double.init), order: matrix.channels)
        } catch let error as SPConvLabError {
            throw FeatureProbeError(error.message)
        }
        let clipped = eigenvalues.map { max($0, 0) }
        let total = clipped.reduce(0, +)
        guard total > 0 else { return 0 }
        let entropy = clipped.reduce(0.0) { h, lambda in
            let p = lambda / total
            return p > 0 ? h - p * log(p) : h
        }
        return exp(entropy)
    }
}
