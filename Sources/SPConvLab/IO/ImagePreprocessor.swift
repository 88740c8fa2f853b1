import Foundation
import SPConvCore
import SPConvKernels

/// Turns decoded images into the NCHW Float32 input tensor of a model: the documented image
/// preprocessing of the engine.
///
/// For a model with `inputChannels` C (1 or 3) and square `inputSize` S, each ``Image8`` goes
/// through these steps, all in Float32 arithmetic with no rounding back to 8 bits in between:
///
/// 1. **Alpha is ignored.** The alpha channel of a gray+alpha or RGBA image is dropped; colour
///    values are used as stored (straight alpha), not composited over any background.
/// 2. **Channel conversion.** For C = 3, an RGB image is used as is and a gray image is
///    replicated into R = G = B. For C = 1, a gray image is used as is and an RGB image becomes
///    ITU-R BT.601 luma `Y = 0.299 R + 0.587 G + 0.114 B`, computed in Float32 on the 0...255
///    values and not rounded (Pillow's `convert("L")` rounds to an integer; this does not).
/// 3. **Resize** so that the shorter side equals S, keeping the aspect ratio: for a `w x h`
///    image with `w <= h` the new size is `S x floor(S * h / w)`, otherwise `floor(S * w / h) x S`
///    (torchvision's `Resize(S)` size rule). Interpolation is bilinear with half-pixel centres
///    and no antialiasing, exactly PyTorch's
///    `torch.nn.functional.interpolate(x, size=(newH, newW), mode="bilinear", align_corners=False, antialias=False)`
///    on a float tensor, equivalently torchvision `Resize(S, antialias=False)` on a float tensor.
///    It is *not* Pillow's `Image.resize(..., BILINEAR)`, which widens its filter (antialiases)
///    when shrinking. Per axis, with `scale = inputLength / outputLength`, output index `i`
///    samples the source coordinate `s = max(scale * (i + 0.5) - 0.5, 0)`, between pixels
///    `i0 = floor(s)` and `i1 = min(i0 + 1, inputLength - 1)` with weights `1 - (s - i0)` and
///    `s - i0`; the two axes are combined bilinearly.
/// 4. **Centre crop** to `S x S`: rows `top ..< top + S` and columns `left ..< left + S` of the
///    resized image, with `top = floor((newH - S) / 2)` and `left = floor((newW - S) / 2)`.
/// 5. **Scale** to [0, 1] by dividing by 255.
/// 6. **Normalise** each channel c as `(x - mean[c]) / std[c]` with the ``Normalization``.
///
/// Several images stack, in order, into one batch of shape `[N, C, S, S]`.
public struct ImagePreprocessor: Sendable {
    /// Channels of the model input: 1 (gray) or 3 (RGB).
    public let inputChannels: Int
    /// Height and width of the square model input.
    public let inputSize: Int
    /// The per-channel normalisation applied last.
    public let normalization: Normalization

    /// Creates a preprocessor for a model input of shape `[N, inputChannels, inputSize, inputSize]`.
    ///
    /// - Throws: ``SPConvLabError`` of kind `invalidConfiguration` when `inputChannels` is not 1
    ///   or 3, `inputSize` is not positive, or `normalization` has neither one value nor
    ///   `inputChannels` values.
    public init(inputChannels: Int, inputSize: Int, normalization: Normalization) throws {
        guard inputChannels == 1 || inputChannels == 3 else {
            throw SPConvLabError(.invalidConfiguration,
                "image preprocessing cannot feed a model with \(inputChannels) input channels; only 1 (gray) or 3 (RGB) are accepted")
        }
        guard inputSize > 0 else {
            throw SPConvLabError(.invalidConfiguration,
                "image preprocessing cannot produce an input of size \(inputSize)x\(inputSize); the input size must be at least 1")
        }
        guard normalization.channelCount == 1 || normalization.channelCount == inputChannels else {
            throw SPConvLabError(.invalidConfiguration,
                "normalisation with mean \(normalization.mean) and std \(normalization.std) has \(normalization.channelCount) values but the model has \(inputChannels) input channels; give 1 value or \(inputChannels)")
        }
        self.inputChannels = inputChannels
        self.inputSize = inputSize
        self.normalization = normalization
    }

    /// Preprocesses one image into a tensor of shape `[1, inputChannels, inputSize, inputSize]`.
    public func tensor(for image: Image8) -> Tensor {
        tensor(for: [image])
    }

    /// Preprocesses images, in order, into a batch of shape `[N, inputChannels, inputSize, inputSize]`.
    ///
    /// The images may have different sizes and layouts; each is processed as described in
    /// ``ImagePreprocessor``.
    public func tensor(for images: [Image8]) -> Tensor {
        let planeCount = inputSize * inputSize
        var scalars: [Float] = []
        scalars.reserveCapacity(images.count * inputChannels * planeCount)
        for image in images {
            let (resizedWidth, resizedHeight) = Self.resizedSize(width: image.width, height: image.height,
                                                                 shorterSide: inputSize)
            let columns = Self.bilinearTaps(inputLength: image.width, outputLength: resizedWidth,
                                            offset: (resizedWidth - inputSize) / 2, count: inputSize)
            let rows = Self.bilinearTaps(inputLength: image.height, outputLength: resizedHeight,
                                         offset: (resizedHeight - inputSize) / 2, count: inputSize)
            for channel in 0..<inputChannels {
                let plane = Self.plane(of: image, channel: channel, modelChannels: inputChannels)
                let (mean, std) = normalization.parameters(forChannel: channel)
                for row in rows {
                    for column in columns {
                        let top = (1 - column.weight) * plane[row.lower * image.width + column.lower]
                            + column.weight * plane[row.lower * image.width + column.upper]
                        let bottom = (1 - column.weight) * plane[row.upper * image.width + column.lower]
                            + column.weight * plane[row.upper * image.width + column.upper]
                        let value = (1 - row.weight) * top + row.weight * bottom
                        scalars.append((value / 255 - mean) / std)
                    }
                }
            }
        }
        return Tensor(shape: [images.count, inputChannels, inputSize, inputSize], scalars: scalars)
    }

    /// Loads a PNG file, or every PNG file of a folder.
    ///
    /// A folder is read non-recursively: its regular files whose names end in `.png` (any case)
    /// and do not start with `.`, sorted by file name (Unicode code-point order, so `B.png`
    /// comes before `a.png`). A file given directly is decoded whatever its extension.
    ///
    /// - Parameter path: A PNG file or a folder of PNG files.
    /// - Returns: Each image with the path it was read from, in order.
    /// - Throws: ``SPConvLabError`` of kind `io` when `path` does not exist or cannot be read,
    ///   `invalidInput` when a folder holds no PNG file or a file is not a valid PNG
    ///   (see ``PNGCodec/decode(_:source:limits:)``).
    public static func loadImages(at path: String) throws -> [(path: String, image: Image8)] {
        try ImageFolderBatchSource.listImageFiles(at: path).files.map { ($0, try ImageFile.read(from: $0)) }
    }

    // MARK: - Steps

    /// The size after resizing so the shorter side equals `shorterSide` (torchvision's rule).
    static func resizedSize(width: Int, height: Int, shorterSide: Int) -> (width: Int, height: Int) {
        width <= height
            ? (shorterSide, shorterSide * height / width)
            : (shorterSide * width / height, shorterSide)
    }

    /// One source pair and weight of bilinear interpolation along one axis.
    struct Tap: Equatable {
        /// The source index weighted by `1 - weight`.
        var lower: Int
        /// The source index weighted by `weight`.
        var upper: Int
        /// The weight of `upper`, in [0, 1).
        var weight: Float
    }

    /// The taps of output indices `offset ..< offset + count` when resizing an axis from
    /// `inputLength` to `outputLength` (half-pixel centres, no antialiasing, PyTorch's
    /// `align_corners=False` arithmetic in Float32).
    static func bilinearTaps(inputLength: Int, outputLength: Int, offset: Int, count: Int) -> [Tap] {
        let scale = Float(inputLength) / Float(outputLength)
        return (offset..<(offset + count)).map { index in
            let source = max(scale * (Float(index) + 0.5) - 0.5, 0)
            let lower = min(Int(source), inputLength - 1)
            let upper = min(lower + 1, inputLength - 1)
            return Tap(lower: lower, upper: upper, weight: source - Float(lower))
        }
    }

    /// Bilinear resize of one row-major `width x height` plane to `newWidth x newHeight` (steps 3
    /// without the crop), for tests and tools.
    static func resize(_ plane: [Float], width: Int, height: Int, newWidth: Int, newHeight: Int) -> [Float] {
        precondition(plane.count == width * height, "a \(width)x\(height) plane needs \(width * height) values, got \(plane.count)")
        let columns = bilinearTaps(inputLength: width, outputLength: newWidth, offset: 0, count: newWidth)
        let rows = bilinearTaps(inputLength: height, outputLength: newHeight, offset: 0, count: newHeight)
        return rows.flatMap { row in
            columns.map { column in
                let top = (1 - column.weight) * plane[row.lower * width + column.lower]
                    + column.weight * plane[row.lower * width + column.upper]
                let bottom = (1 - column.weight) * plane[row.upper * width + column.lower]
                    + column.weight * plane[row.upper * width + column.upper]
                return (1 - row.weight) * top + row.weight * bottom
            }
        }
    }

    /// Channel `channel` of the model input as a row-major plane of 0...255 values (steps 1 and 2).
    static func plane(of image: Image8, channel: Int, modelChannels: Int) -> [Float] {
        let stride = image.channels
        let pixelCount = image.width * image.height
        let pixels = image.pixels
        if !image.layout.isColor {
            return (0..<pixelCount).map { Float(pixels[$0 * stride]) }
        }
        if modelChannels == 3 {
            return (0..<pixelCount).map { Float(pixels[$0 * stride + channel]) }
        }
        return (0..<pixelCount).map { index in
            let base = index * stride
            let red: Float = 0.299 * Float(pixels[base])
            let green: Float = 0.587 * Float(pixels[base + 1])
            let blue: Float = 0.114 * Float(pixels[base + 2])
            return red + green + blue
        }
    }
}
