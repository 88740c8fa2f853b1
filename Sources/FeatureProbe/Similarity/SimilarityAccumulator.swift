import SPConvLab

/// Accumulates a layer's channel similarity matrix batch by batch, in memory independent of the
/// number of images.
///
/// `.pooled` keeps the float64 Gram matrix `G = sum X Xᵀ` of the channel vectors (`C x C`), the
/// channel sums and the number of positions `M`; each batch's Gram matrix is one float32 BLAS
/// `ssyrk` added into the float64 total. For `.pearson` every value is first shifted by a reference
/// per channel (the channel's mean over the first image seen), so that `G - s sᵀ / M` does not
/// cancel catastrophically when a channel's mean is large against its spread. `.perImage` computes
/// each image's matrix (pearson: centred on that image's means) and sums the matrices in float64.
/// docs/REDUNDANCY.md gives every formula and the dead-channel tolerance.
public struct SimilarityAccumulator: Sendable {
    /// A channel whose root mean square (cosine) or standard deviation (pearson) is at most this
    /// fraction of the layer's scale is dead (see `deadChannels(meanSquares:variances:)`).
    public static let deadTolerance = 1e-6

    /// Number of channels `C` every batch must have.
    public let channels: Int
    /// The similarity measure.
    public let metric: SimilarityMetric
    /// How images are combined.
    public let reduction: SimilarityReduction
    /// Number of images added so far.
    public private(set) var images = 0

    // Pooled: Gram matrix and sums of the (shifted) values, number of positions, the shift.
    private var gram: [Double]
    private var sums: [Double]
    private var positions = 0
    private var shift: [Float]?
    // Per image: sum of the per-image similarity matrices, images in which each channel was dead.
    private var similaritySum: [Double]
    private var deadCounts: [Int]

    /// Creates an empty accumulator.
    ///
    /// - Parameters:
    ///   - channels: the channel count `C` of the layer (at least 1).
    ///   - metric: `.cosine` or `.pearson`.
    ///   - reduction: `.pooled` (default) or `.perImage`.
    /// - Throws: `FeatureProbeError` when `channels < 1`.
    public init(channels: Int, metric: SimilarityMetric = .cosine, reduction: SimilarityReduction = .pooled) throws {
        guard channels >= 1 else {
            throw FeatureProbeError("A similarity matrix needs at least one channel, got \(channels) channels; pass the channel count C of the captured [N, C, H, W] maps.")
        }
        self.channels = channels
        self.metric = metric
        self.reduction = reduction
        let pooled = reduction == .pooled
        gram = [Double](repeating: 0, count: pooled ? channels * channels : 0)
        sums = [Double](repeating: 0, count: pooled ? channels : 0)
        similaritySum = [Double](repeating: 0, count: pooled ? 0 : channels * channels)
        deadCounts = [Int](repeating: 0, count: pooled ? 0 : channels)
    }

    /// Adds a batch of feature maps.
    ///
    /// - Parameter batch: an `[N, C, H, W]` tensor with `C == channels` (any layout; converted to
    ///   row-major). An empty batch changes nothing.
    /// - Throws: `FeatureProbeError` when the batch is not 4-D, has another channel
    ///   count, or holds NaN or infinite values; the accumulator is then unchanged.
    public mutating func add(_ batch: Tensor) throws {
        let batch = batch.rowMajor()
        guard batch.rank == 4 else {
            throw FeatureProbeError("Similarity needs feature maps of rank 4 [N, C, H, W], got shape \(batch.shape); capture a convolutional layer's output, or reshape [N, C] features to [N, C, 1, 1].")
        }
        let (n, c, h, w) = batch.nchw
        guard c == channels else {
            throw FeatureProbeError("A batch of shape \(batch.shape) has \(c) channels but this similarity accumulator was made for \(channels); every batch of one layer must have the same channel count.")
        }
        guard n > 0, h * w > 0 else { return }
        switch reduction {
        case .pooled: try addPooled(batch)
        case .perImage: try addPerImage(batch)
        }
        images += n
    }

    private mutating func addPooled(_ batch: Tensor) throws {
        let (n, c, h, w) = batch.nchw
        if metric == .pearson && shift == nil {
            let first = Tensor(shape: [1, c, h, w], scalars: Array(batch.scalars[0..<(c * h * w)]))
            shift = LinearAlgebra.channelSums(first).map { Float($0 / Double(h * w)) }
        }
        let part = LinearAlgebra.channelGram(of: batch, subtracting: shift, computingSums: metric == .pearson)
        try Self.checkFinite(part.gram, channels: c, shape: batch.shape)
        for i in 0..<(c * c) { gram[i] += Double(part.gram[i]) }
        for i in 0..<part.sums.count { sums[i] += part.sums[i] }
        positions += n * h * w
    }

    private mutating func addPerImage(_ batch: Tensor) throws {
        let (_, c, h, w) = batch.nchw
        let p = Double(h * w)
        // Summed into copies first, so a failing image leaves the accumulator unchanged.
        var total = similaritySum, counts = deadCounts
        var failure: FeatureProbeError?
        LinearAlgebra.forEachImageChannelGram(of: batch, centred: metric == .pearson) { _, part, means in
            guard failure == nil else { return }
            do { try Self.checkFinite(part, channels: c, shape: batch.shape) } catch {
                failure = error as? FeatureProbeError
                return
            }
            var moments = [Double](repeating: 0, count: c * c)
            var meanSquares = [Double](repeating: 0, count: c)
            if metric == .pearson {
                // The block was centred on float32-rounded means; `residual` is what rounding left.
                let residual = means.map { $0 - Double(Float($0)) }
                for i in 0..<c {
                    for j in 0..<c { moments[i * c + j] = Double(part[i * c + j]) / p - residual[i] * residual[j] }
                }
                for i in 0..<c { meanSquares[i] = max(moments[i * c + i], 0) + means[i] * means[i] }
            } else {
                for i in 0..<(c * c) { moments[i] = Double(part[i]) / p }
                for i in 0..<c { meanSquares[i] = moments[i * c + i] }
            }
            let dead = Self.deadChannels(metric: metric, moments: moments, meanSquares: meanSquares, channels: c)
            let similarity = Self.normalise(moments, dead: dead, channels: c)
            for i in 0..<(c * c) { total[i] += similarity[i] }
            for i in 0..<c where dead[i] { counts[i] += 1 }
        }
        if let failure { throw failure }
        similaritySum = total
        deadCounts = counts
    }

    /// The similarity matrix of everything added so far.
    ///
    /// Before any image was added every channel is reported dead and the matrix is the identity.
    public func result() -> SimilarityMatrix {
        let c = channels
        var values = [Float](repeating: 0, count: c * c)
        var dead: [Bool]
        if images == 0 {
            dead = [Bool](repeating: true, count: c)
            for i in 0..<c { values[i * c + i] = 1 }
        } else if reduction == .pooled {
            let m = Double(positions)
            var moments = [Double](repeating: 0, count: c * c)
            var meanSquares = [Double](repeating: 0, count: c)
            if metric == .pearson, let shift {
                let means = sums.map { $0 / m }
                for i in 0..<c {
                    for j in 0..<c { moments[i * c + j] = gram[i * c + j] / m - means[i] * means[j] }
                }
                for i in 0..<c {
                    let mean = Double(shift[i]) + means[i]
                    meanSquares[i] = max(moments[i * c + i], 0) + mean * mean
                }
            } else {
                for i in 0..<(c * c) { moments[i] = gram[i] / m }
                for i in 0..<c { meanSquares[i] = moments[i * c + i] }
            }
            dead = Self.deadChannels(metric: metric, moments: moments, meanSquares: meanSquares, channels: c)
            let similarity = Self.normalise(moments, dead: dead, channels: c)
            for i in 0..<(c * c) { values[i] = Float(similarity[i]) }
        } else {
            dead = deadCounts.map { $0 == images }
            for i in 0..<(c * c) { values[i] = Float(similaritySum[i] / Double(images)) }
            for i in 0..<c { values[i * c + i] = 1 }
        }
        return SimilarityMatrix(channels: c, values: values, metric: metric, reduction: reduction, images: images,
                                deadChannels: dead.indices.filter { dead[$0] })
    }

    // MARK: - Shared formulas

    /// Dead channels from second moments: `moments` is the `C x C` matrix of mean products
    /// (cosine: about zero; pearson: covariances), `meanSquares` each channel's mean square.
    ///
    /// Cosine: dead when `rms_c <= tau * max rms`. Pearson: dead when
    /// `sigma_c <= tau * max(rms_c, max sigma)`. `tau = deadTolerance`. All channels are dead when
    /// the layer is all zero.
    static func deadChannels(metric: SimilarityMetric, moments: [Double], meanSquares: [Double], channels c: Int) -> [Bool] {
        let tau2 = deadTolerance * deadTolerance
        let spreads = (0..<c).map { max(moments[$0 * c + $0], 0) }
        let largest = spreads.max() ?? 0
        return (0..<c).map { i in
            if spreads[i] == 0 { return true }
            switch metric {
            case .cosine: return spreads[i] <= tau2 * largest
            case .pearson: return spreads[i] <= tau2 * max(meanSquares[i], largest)
            }
        }
    }

    /// `s_ij = m_ij / sqrt(m_ii m_jj)` clamped to [-1, 1]; 0 off the diagonal for a dead channel,
    /// 1 on the diagonal.
    static func normalise(_ moments: [Double], dead: [Bool], channels c: Int) -> [Double] {
        let inverse = (0..<c).map { dead[$0] ? 0 : 1 / moments[$0 * c + $0].squareRoot() }
        var out = [Double](repeating: 0, count: c * c)
        for i in 0..<c {
            for j in 0..<c {
                out[i * c + j] = i == j ? 1 : min(max(moments[i * c + j] * inverse[i] * inverse[j], -1), 1)
            }
        }
        return out
    }

    /// Throws when a Gram matrix's diagonal is not finite (the batch held NaN or infinity).
    static func checkFinite(_ gram: [Float], channels c: Int, shape: [Int]) throws {
        if let bad = (0..<c).first(where: { !gram[$0 * c + $0].isFinite }) {
            throw FeatureProbeError("Channel \(bad) of a batch of shape \(shape) holds NaN or infinite activations (or values whose squares overflow float32); similarity needs finite feature maps, so check the input images and the network's weights.")
        }
    }
}
