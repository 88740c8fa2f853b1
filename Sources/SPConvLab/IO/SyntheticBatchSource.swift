import SPConvCore
import SPConvKernels

/// Seeded standard-normal images, for timing and smoke tests without a dataset.
///
/// Every element is an independent N(0, 1) sample (``SeededGenerator/nextGaussian()``), used as is
/// (no normalisation). Image `k` depends only on the seed and `k`, not on how the images are
/// split into batches: its generator is seeded with the `k`-th output (from 0) of
/// `SeededGenerator(seed: seed)`, and fills the image's `C x S x S` values in NCHW order.
/// Sample `k` is labelled `sample k`.
public struct SyntheticBatchSource: BatchSource, Sendable {
    public let count: Int
    /// Channels of each image.
    public let inputChannels: Int
    /// Height and width of each image.
    public let inputSize: Int
    /// The seed all images derive from.
    public let seed: UInt64

    /// Creates `count` synthetic images shaped for the model `spec`.
    ///
    /// - Precondition: `count >= 1`.
    public init(count: Int, spec: ModelSpec, seed: UInt64 = 0) {
        self.init(count: count, input: InputSpec(spec), seed: seed)
    }

    /// Creates `count` synthetic images shaped for `input`.
    public init(count: Int, input: InputSpec, seed: UInt64 = 0) {
        precondition(count >= 1, "a synthetic input needs at least 1 image, got \(count)")
        self.count = count
        self.inputChannels = input.channels
        self.inputSize = input.size
        self.seed = seed
    }

    public func label(of index: Int) -> String { "sample \(index)" }

    public func batch(_ range: Range<Int>) throws -> Tensor {
        precondition(range.lowerBound >= 0 && range.upperBound <= count,
                     "batch \(range) is outside the \(count) synthetic images")
        let perImage = inputChannels * inputSize * inputSize
        var scalars: [Float] = []
        scalars.reserveCapacity(range.count * perImage)
        for index in range {
            var generator = Self.generator(seed: seed, image: index)
            for _ in 0..<perImage { scalars.append(generator.nextGaussian()) }
        }
        return Tensor(shape: [range.count, inputChannels, inputSize, inputSize], scalars: scalars)
    }

    /// The generator of image `image`: seeded with output `image` of `SeededGenerator(seed: seed)`,
    /// computed directly (SplitMix64 advances its state by a fixed increment per output).
    static func generator(seed: UInt64, image: Int) -> SeededGenerator {
        var mixer = SeededGenerator(seed: seed &+ UInt64(image) &* 0x9E37_79B9_7F4A_7C15)
        return SeededGenerator(seed: mixer.next())
    }
}
