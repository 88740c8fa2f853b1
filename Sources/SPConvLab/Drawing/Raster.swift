/// A small RGB picture placed inside a ``Figure`` (a heatmap's matrix, a feature map).
///
/// Samples are 8-bit, row-major, top row first: `pixels[(y * width + x) * 3 + c]` for RGB, or
/// `pixels[y * width + x]` for gray. A raster is always drawn with nearest-neighbour sampling, so
/// each sample stays a crisp rectangle however far it is enlarged, in PNG, SVG and PDF alike.
public struct Raster: Sendable, Equatable {
    /// How the samples of one pixel are stored.
    public enum Layout: Sendable, Equatable {
        case gray
        case rgb

        /// Samples per pixel.
        public var channels: Int { self == .gray ? 1 : 3 }
    }

    public let width: Int
    public let height: Int
    public let layout: Layout
    public let pixels: [UInt8]

    /// Creates a raster.
    ///
    /// - Precondition: `width` and `height` are positive and `pixels` holds
    ///   `width * height * layout.channels` samples.
    public init(width: Int, height: Int, layout: Layout, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "a raster needs a positive size, got \(width)x\(height)")
        precondition(pixels.count == width * height * layout.channels,
                     "a \(width)x\(height) \(layout) raster has \(width * height * layout.channels) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.layout = layout
        self.pixels = pixels
    }

    /// The colour of the pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> Color {
        precondition(x >= 0 && x < width && y >= 0 && y < height, "pixel (\(x), \(y)) is outside a \(width)x\(height) raster")
        let index = (y * width + x) * layout.channels
        return layout == .gray ? Color(gray: pixels[index]) : Color(pixels[index], pixels[index + 1], pixels[index + 2])
    }
}
