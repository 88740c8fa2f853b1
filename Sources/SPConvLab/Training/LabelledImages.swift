import SPConvCore
import SPConvKernels

/// A classification dataset held in memory as 8-bit images: what training reads.
///
/// Images are `channels x size x size` planes of `UInt8`, one after another; `labels` are class
/// indices. Batches are normalised `(x / 255 - mean[c]) / std[c]` on the way out, and training
/// batches are augmented (random crop with zero padding, horizontal flip) before normalising, as
/// torchvision's `RandomCrop(padding=p)`, `RandomHorizontalFlip()`, `ToTensor()`, `Normalize()` do.
public struct LabelledImages: Sendable {
    public let name: String
    public let channels: Int
    public let size: Int
    public let classes: Int
    public let pixels: [UInt8]
    public let labels: [Int]
    public let normalization: Normalization

    public var count: Int { labels.count }
    private var imageStride: Int { channels * size * size }

    public init(name: String, channels: Int, size: Int, classes: Int, pixels: [UInt8], labels: [Int],
                normalization: Normalization) {
        precondition(pixels.count == labels.count * channels * size * size, "\(labels.count) labels do not fit \(pixels.count) pixels")
        self.name = name
        self.channels = channels
        self.size = size
        self.classes = classes
        self.pixels = pixels
        self.labels = labels
        self.normalization = normalization
    }

    /// A Fashion-MNIST split with the dataset's normalisation (mean 0.2860, std 0.3530).
    public init(_ dataset: ImageDataset) {
        self.init(name: "\(dataset.name)/\(dataset.split.rawValue)", channels: dataset.channels, size: dataset.size,
                  classes: dataset.classNames.count, pixels: dataset.pixels, labels: dataset.labels,
                  normalization: dataset.normalization)
    }

    public init(_ dataset: FashionMNIST) {
        self.init(name: "fashion-mnist/\(dataset.split.rawValue)", channels: 1, size: FashionMNIST.imageSize, classes: 10,
                  pixels: dataset.images, labels: dataset.labels.map(Int.init), normalization: FashionMNIST.normalization)
    }

    /// The images `indices` as a normalised `[B, C, S, S]` batch with their labels, unchanged.
    public func batch(_ indices: some Collection<Int>) -> (images: Tensor, labels: [Int]) {
        batch(indices, augment: nil)
    }

    /// The images `indices`, each cropped and flipped as `augmentation` draws, normalised.
    func batch(_ indices: some Collection<Int>, augment: Augmentation?) -> (images: Tensor, labels: [Int]) {
        let (c, s) = (channels, size)
        let plane = s * s
        let scale = normalization.std.map { 1 / (255 * $0) }
        let shift = zip(normalization.mean, normalization.std).map { -$0 / $1 }
        var out = [Float](repeating: 0, count: indices.count * imageStride)
        for (slot, index) in indices.enumerated() {
            let draw = augment?.draws[slot] ?? Augmentation.Draw(dy: 0, dx: 0, flip: false)
            for ch in 0..<c {
                let (a, b) = (scale[ch % scale.count], shift[ch % shift.count])
                let src = index * imageStride + ch * plane, dst = slot * imageStride + ch * plane
                for y in 0..<s {
                    let sy = y + draw.dy
                    for x in 0..<s {
                        let sx = (draw.flip ? s - 1 - x : x) + draw.dx
                        let inside = sy >= 0 && sy < s && sx >= 0 && sx < s
                        let value: Float = inside ? Float(pixels[src + sy * s + sx]) : 0
                        out[dst + y * s + x] = value * a + b
                    }
                }
            }
        }
        return (Tensor(shape: [indices.count, c, s, s], scalars: out), indices.map { labels[$0] })
    }

    /// The order and augmentation of one training epoch, drawn from `(seed, epoch)` alone, so a
    /// resumed run sees exactly the batches an uninterrupted one would.
    func epochPlan(seed: UInt64, epoch: Int, cropPadding: Int, flip: Bool) -> (order: [Int], augmentation: Augmentation) {
        var generator = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch) &+ 1)
        var order = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(generator.next() % UInt64(i + 1)))
        }
        let span = UInt64(2 * cropPadding + 1)
        let draws = (0..<count).map { _ in
            Augmentation.Draw(dy: Int(generator.next() % span) - cropPadding, dx: Int(generator.next() % span) - cropPadding,
                              flip: flip && generator.next() & 1 == 1)
        }
        return (order, Augmentation(draws: draws))
    }
}

/// Per-image crop offsets and flips for a run of batch slots.
struct Augmentation {
    struct Draw {
        /// The crop window's offset from the unpadded image, in `-padding...padding`.
        var dy: Int, dx: Int
        var flip: Bool
    }
    var draws: [Draw]

    /// The draws of slots `range`, renumbered from 0.
    subscript(range: Range<Int>) -> Augmentation { Augmentation(draws: Array(draws[range])) }
}
