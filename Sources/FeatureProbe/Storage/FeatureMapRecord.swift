/// The feature maps `[C, H, W]` of one layer for one image, stored compactly: each channel
/// quantised to uint8 after a min-max normalisation of its own (a row of `feature_maps`).
///
/// Channel `c`'s range is `minimum[c]...maximum[c]` over its finite values (0...0 when it has
/// none). Its value at `(y, x)` is stored as the code
/// `k = round((v - minimum[c]) / (maximum[c] - minimum[c]) * 255)` (0 when the range is empty or
/// `v` is not finite) at `codes[(c * H + y) * W + x]`, and read back as
/// `minimum[c] + k / 255 * (maximum[c] - minimum[c])`, within half a step
/// (`(maximum[c] - minimum[c]) / 510`) of the original.
public struct FeatureMapRecord: Sendable, Equatable {
    /// The largest maps BLOB read back (64 MiB; a stored layer is at most a few MB).
    public static let maximumMapBytes = 64 << 20
    public var runID: Int64
    /// The dotted `state_dict` path of the layer.
    public var layer: String
    /// The index of the image in the probed input (0: the first image the sweep probes).
    public var image: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    /// Per channel, the smallest finite value.
    public var minimum: [Float]
    /// Per channel, the largest finite value.
    public var maximum: [Float]
    /// `channels * height * width` codes, channel-major (`[C, H, W]` row-major).
    public var codes: [UInt8]

    /// A record from its stored parts.
    ///
    /// - Precondition: `minimum` and `maximum` have `channels` entries and `codes` has
    ///   `channels * height * width`.
    public init(runID: Int64, layer: String, image: Int, channels: Int, height: Int, width: Int,
                minimum: [Float], maximum: [Float], codes: [UInt8]) {
        precondition(channels >= 1 && height >= 1 && width >= 1, "feature maps need at least one channel, row and column, got \(channels) x \(height) x \(width)")
        precondition(minimum.count == channels && maximum.count == channels,
                     "\(channels) channels need \(channels) minima and maxima, got \(minimum.count) and \(maximum.count)")
        precondition(codes.count == channels * height * width,
                     "\(channels) x \(height) x \(width) maps need \(channels * height * width) codes, got \(codes.count)")
        self.runID = runID
        self.layer = layer
        self.image = image
        self.channels = channels
        self.height = height
        self.width = width
        self.minimum = minimum
        self.maximum = maximum
        self.codes = codes
    }

    /// Quantises the maps `values` (`[C, H, W]` row-major) of one layer for one image.
    ///
    /// - Precondition: `values.count == channels * height * width`.
    public init(runID: Int64, layer: String, image: Int, channels: Int, height: Int, width: Int, values: [Float]) {
        precondition(values.count == channels * height * width,
                     "\(channels) x \(height) x \(width) maps need \(channels * height * width) values, got \(values.count)")
        let plane = height * width
        var minimum = [Float](repeating: 0, count: channels), maximum = [Float](repeating: 0, count: channels)
        var codes = [UInt8](repeating: 0, count: values.count)
        for c in 0..<channels {
            let slice = values[(c * plane)..<((c + 1) * plane)]
            let finite = slice.filter(\.isFinite)
            let low = finite.min() ?? 0, high = finite.max() ?? 0
            (minimum[c], maximum[c]) = (low, high)
            let range = Double(high) - Double(low)
            guard range > 0 else { continue }
            for (offset, value) in slice.enumerated() where value.isFinite {
                let scaled = ((Double(value) - Double(low)) / range * 255).rounded(.toNearestOrAwayFromZero)
                codes[c * plane + offset] = UInt8(min(max(scaled, 0), 255))
            }
        }
        self.init(runID: runID, layer: layer, image: image, channels: channels, height: height, width: width,
                  minimum: minimum, maximum: maximum, codes: codes)
    }

    /// The bytes the record takes in the database: the codes and two float32 per channel.
    public var storedBytes: Int { codes.count + 8 * channels }

    /// Channel `c`'s `height * width` values as read back from the codes, row-major.
    public func values(channel c: Int) -> [Float] {
        precondition((0..<channels).contains(c), "channel \(c) is outside 0..<\(channels)")
        let plane = height * width
        let low = Double(minimum[c]), range = Double(maximum[c]) - Double(minimum[c])
        return codes[(c * plane)..<((c + 1) * plane)].map { Float(low + Double($0) / 255 * range) }
    }
}
