/// An 8-bit-per-channel raster image, as decoded from or encoded to a file.
///
/// Pixels are stored row-major, top row first, with the channels of one pixel interleaved
/// (`pixels[(y * width + x) * channels + c]`). The ``Layout`` records which channels a pixel
/// has, so a decoder keeps the colour type of the file it read: a grayscale PNG decodes to
/// ``Layout/gray``, a grayscale PNG with an alpha channel (or a `tRNS` transparency chunk) to
/// ``Layout/grayAlpha``, an RGB PNG to ``Layout/rgb``, an RGBA PNG to ``Layout/rgba``, and a
/// palette PNG to ``Layout/rgb`` or, when its palette carries transparency, ``Layout/rgba``.
public struct Image8: Sendable, Equatable {
    /// The channels of one pixel, in storage order.
    public enum Layout: Int, Sendable, CaseIterable {
        /// One luminance channel.
        case gray = 1
        /// Luminance, then alpha.
        case grayAlpha = 2
        /// Red, green, blue.
        case rgb = 3
        /// Red, green, blue, then alpha.
        case rgba = 4

        /// Number of interleaved channels per pixel (1, 2, 3 or 4).
        public var channels: Int { rawValue }
        /// Whether the last channel is (straight, not premultiplied) alpha.
        public var hasAlpha: Bool { self == .grayAlpha || self == .rgba }
        /// Whether the pixel has red, green and blue channels rather than one gray channel.
        public var isColor: Bool { self == .rgb || self == .rgba }
    }

    /// Number of columns.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// The channels of each pixel.
    public let layout: Layout
    /// Row-major, channel-interleaved samples; `pixels.count == width * height * channels`.
    public let pixels: [UInt8]

    /// Number of interleaved channels per pixel (1, 2, 3 or 4).
    public var channels: Int { layout.channels }

    /// Creates an image from its size, layout and interleaved samples.
    ///
    /// - Precondition: `width` and `height` are positive and
    ///   `pixels.count == width * height * layout.channels`.
    public init(width: Int, height: Int, layout: Layout, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "image size must be positive, got \(width)x\(height)")
        precondition(pixels.count == width * height * layout.channels,
                     "a \(width)x\(height) \(layout) image needs \(width * height * layout.channels) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.layout = layout
        self.pixels = pixels
    }

    /// The sample of channel `channel` at column `x`, row `y` (slow; for tests and small tools).
    public subscript(x: Int, y: Int, channel: Int) -> UInt8 {
        precondition(x >= 0 && x < width && y >= 0 && y < height && channel >= 0 && channel < channels,
                     "pixel (\(x), \(y)) channel \(channel) is outside a \(width)x\(height)x\(channels) image")
        return pixels[(y * width + x) * channels + channel]
    }
}
