import SPConvLab

/// Linear centred kernel alignment (CKA) between two layers seen on the same images, accumulated
/// batch by batch.
///
/// Every (image, position) is a sample and the channels are its features, so the layers must
/// have the same `N`, `H` and `W` (their channel counts may differ). With `X` (`M x C1`) and `Y`
/// (`M x C2`) centred per channel,
/// `CKA = |Xᵀ Y|_F² / (|Xᵀ X|_F |Yᵀ Y|_F)`, in [0, 1]. The accumulator keeps `Xᵀ Y`, `Xᵀ X`,
/// `Yᵀ Y` and the channel sums in float64, each value shifted by its channel's mean over the first
/// image so that centring at the end does not cancel. Memory does not grow with the images.
public struct CKAAccumulator: Sendable {
    /// Channels of the first layer.
    public let firstChannels: Int
    /// Channels of the second layer.
    public let secondChannels: Int
    /// Number of images added so far.
    public private(set) var images = 0

    private var cross: [Double]
    private var firstGram: [Double]
    private var secondGram: [Double]
    private var firstSums: [Double]
    private var secondSums: [Double]
    private var positions = 0
    private var firstShift: [Float]?
    private var secondShift: [Float]?

    /// Creates an empty accumulator for layers with `firstChannels` and `secondChannels` channels.
    ///
    /// - Throws: `FeatureProbeError` when a channel count is below 1.
    public init(firstChannels: Int, secondChannels: Int) throws {
        guard firstChannels >= 1, secondChannels >= 1 else {
            throw FeatureProbeError("CKA needs at least one channel in each layer, got \(firstChannels) and \(secondChannels) channels; pass the channel counts C of the two captured [N, C, H, W] maps.")
        }
        self.firstChannels = firstChannels
        self.secondChannels = secondChannels
        cross = [Double](repeating: 0, count: firstChannels * secondChannels)
        firstGram = [Double](repeating: 0, count: firstChannels * firstChannels)
        secondGram = [Double](repeating: 0, count: secondChannels * secondChannels)
        firstSums = [Double](repeating: 0, count: firstChannels)
        secondSums = [Double](repeating: 0, count: secondChannels)
    }

    /// Adds the maps of the same images from both layers.
    ///
    /// - Parameters:
    ///   - first: `[N, C1, H, W]` maps of the first layer.
    ///   - second: `[N, C2, H, W]` maps of the second layer, the same images in the same order.
    /// - Throws: `FeatureProbeError` when a tensor is not 4-D, the channel counts differ
    ///   from the accumulator's, `N`, `H` or `W` differ, or a value is not finite.
    public mutating func add(_ first: Tensor, _ second: Tensor) throws {
        let (first, second) = (first.rowMajor(), second.rowMajor())
        guard first.rank == 4, second.rank == 4 else {
            throw FeatureProbeError("CKA needs two rank-4 [N, C, H, W] feature maps, got shapes \(first.shape) and \(second.shape).")
        }
        guard first.shape[1] == firstChannels, second.shape[1] == secondChannels else {
            throw FeatureProbeError("CKA batches of shapes \(first.shape) and \(second.shape) have \(first.shape[1]) and \(second.shape[1]) channels, but this accumulator was made for \(firstChannels) and \(secondChannels).")
        }
        guard first.shape[0] == second.shape[0], first.shape[2] == second.shape[2], first.shape[3] == second.shape[3] else {
            throw FeatureProbeError("CKA compares the same images at the same positions, so N, H and W must agree, got shapes \(first.shape) and \(second.shape); pick layers of the same spatial size.")
        }
        let (n, _, h, w) = first.nchw
        guard n > 0, h * w > 0 else { return }
        if firstShift == nil {
            firstShift = Self.firstImageMeans(first)
            secondShift = Self.firstImageMeans(second)
        }
        let x = LinearAlgebra.channelGram(of: first, subtracting: firstShift)
        let y = LinearAlgebra.channelGram(of: second, subtracting: secondShift)
        try SimilarityAccumulator.checkFinite(x.gram, channels: firstChannels, shape: first.shape)
        try SimilarityAccumulator.checkFinite(y.gram, channels: secondChannels, shape: second.shape)
        let xy = LinearAlgebra.channelCrossProduct(first, second, subtracting: firstShift, secondShift)
        for i in 0..<cross.count { cross[i] += Double(xy[i]) }
        for i in 0..<firstGram.count { firstGram[i] += Double(x.gram[i]) }
        for i in 0..<secondGram.count { secondGram[i] += Double(y.gram[i]) }
        for i in 0..<firstChannels { firstSums[i] += x.sums[i] }
        for i in 0..<secondChannels { secondSums[i] += y.sums[i] }
        positions += n * h * w
        images += n
    }

    /// The linear CKA of everything added so far; 0 when either layer has no variance (or nothing
    /// was added).
    public func result() -> Double {
        guard positions > 0 else { return 0 }
        let m = Double(positions)
        let (mx, my) = (firstSums.map { $0 / m }, secondSums.map { $0 / m })
        // Centred cross-products divided by M: K - M mean meanᵀ, then over M.
        func squaredNorm(_ k: [Double], _ a: [Double], _ b: [Double]) -> Double {
            var total = 0.0
            for i in 0..<a.count {
                for j in 0..<b.count {
                    let v = k[i * b.count + j] / m - a[i] * b[j]
                    total += v * v
                }
            }
            return total
        }
        let xy = squaredNorm(cross, mx, my)
        let xx = squaredNorm(firstGram, mx, mx).squareRoot()
        let yy = squaredNorm(secondGram, my, my).squareRoot()
        guard xx > 0, yy > 0 else { return 0 }
        return min(max(xy / (xx * yy), 0), 1)
    }

    private static func firstImageMeans(_ batch: Tensor) -> [Float] {
        let (_, c, h, w) = batch.nchw
        let first = Tensor(shape: [1, c, h, w], scalars: Array(batch.scalars[0..<(c * h * w)]))
        return LinearAlgebra.channelSums(first).map { Float($0 / Double(h * w)) }
    }
}
