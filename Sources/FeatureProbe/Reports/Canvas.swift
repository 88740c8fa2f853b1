import SPConvLab

/// An RGB drawing surface for the report pictures.
///
/// Pixels are 8-bit RGB, row-major, top row first (`pixels[(y * width + x) * 3 + c]`), the same
/// order as ``Image8`` with layout `.rgb`. Coordinates are in pixels with the origin at the top
/// left. Every drawing call clips to the canvas, so shapes may lie partly or wholly outside it.
public struct Canvas: Sendable {
    /// An sRGB colour.
    public struct Color: Sendable, Hashable {
        public var red: UInt8
        public var green: UInt8
        public var blue: UInt8

        /// Creates a colour from its red, green and blue samples.
        public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
            self.red = red
            self.green = green
            self.blue = blue
        }

        /// Creates a colour from `0xRRGGBB`.
        public init(hex: UInt32) {
            self.init(UInt8((hex >> 16) & 0xFF), UInt8((hex >> 8) & 0xFF), UInt8(hex & 0xFF))
        }

        /// A gray of the given level.
        public init(gray level: UInt8) { self.init(level, level, level) }

        public static let white = Color(255, 255, 255)
        public static let black = Color(0, 0, 0)
    }

    /// Number of columns.
    public let width: Int
    /// Number of rows.
    public let height: Int
    /// Row-major RGB samples, `width * height * 3` of them.
    public private(set) var pixels: [UInt8]

    /// Creates a canvas filled with `background`.
    ///
    /// - Precondition: `width` and `height` are positive.
    public init(width: Int, height: Int, background: Color = .white) {
        precondition(width > 0 && height > 0, "canvas size must be positive, got \(width)x\(height)")
        self.width = width
        self.height = height
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in stride(from: 0, to: pixels.count, by: 3) {
            pixels[i] = background.red
            pixels[i + 1] = background.green
            pixels[i + 2] = background.blue
        }
        self.pixels = pixels
    }

    /// The colour at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> Color {
        precondition(x >= 0 && x < width && y >= 0 && y < height,
                     "pixel (\(x), \(y)) is outside a \(width)x\(height) canvas")
        let i = (y * width + x) * 3
        return Color(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Sets the pixel at column `x`, row `y` (nothing happens outside the canvas).
    public mutating func setPixel(x: Int, y: Int, color: Color) {
        guard x >= 0 && x < width && y >= 0 && y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = color.red
        pixels[i + 1] = color.green
        pixels[i + 2] = color.blue
    }

    /// Fills the rectangle with top-left corner (`x`, `y`) and the given size.
    public mutating func fillRect(x: Int, y: Int, width rectWidth: Int, height rectHeight: Int, color: Color) {
        let x0 = max(x, 0), x1 = min(x + rectWidth, width)
        let y0 = max(y, 0), y1 = min(y + rectHeight, height)
        guard x0 < x1 && y0 < y1 else { return }
        for row in y0..<y1 {
            var i = (row * width + x0) * 3
            for _ in x0..<x1 {
                pixels[i] = color.red
                pixels[i + 1] = color.green
                pixels[i + 2] = color.blue
                i += 3
            }
        }
    }

    /// Draws the outline of a rectangle, `thickness` pixels wide, inside its bounds.
    public mutating func strokeRect(x: Int, y: Int, width rectWidth: Int, height rectHeight: Int,
                                    thickness: Int = 1, color: Color) {
        let t = min(thickness, (rectWidth + 1) / 2, (rectHeight + 1) / 2)
        guard t > 0 else { return }
        fillRect(x: x, y: y, width: rectWidth, height: t, color: color)
        fillRect(x: x, y: y + rectHeight - t, width: rectWidth, height: t, color: color)
        fillRect(x: x, y: y, width: t, height: rectHeight, color: color)
        fillRect(x: x + rectWidth - t, y: y, width: t, height: rectHeight, color: color)
    }

    /// Draws a one-pixel line from (`x0`, `y0`) to (`x1`, `y1`), both ends included (Bresenham).
    public mutating func drawLine(fromX x0: Int, y y0: Int, toX x1: Int, y y1: Int, color: Color) {
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var (x, y, error) = (x0, y0, dx + dy)
        while true {
            setPixel(x: x, y: y, color: color)
            if x == x1 && y == y1 { break }
            let doubled = 2 * error
            if doubled >= dy { error += dy; x += sx }
            if doubled <= dx { error += dx; y += sy }
        }
    }

    /// Copies `image` with its top-left corner at (`x`, `y`), each source pixel becoming a
    /// `scale` x `scale` block (nearest-neighbour upscaling).
    ///
    /// Gray images are drawn as gray; images with alpha are blended over the canvas.
    public mutating func blit(_ image: Image8, x: Int, y: Int, scale: Int = 1) {
        precondition(scale >= 1, "blit scale must be at least 1, got \(scale)")
        let channels = image.layout.channels
        let color = image.layout.isColor
        let alpha = image.layout.hasAlpha
        for sourceY in 0..<image.height {
            let top = y + sourceY * scale
            if top + scale <= 0 || top >= height { continue }
            for sourceX in 0..<image.width {
                let left = x + sourceX * scale
                if left + scale <= 0 || left >= width { continue }
                let s = (sourceY * image.width + sourceX) * channels
                let p = image.pixels
                let pixel = color ? Color(p[s], p[s + 1], p[s + 2]) : Color(gray: p[s])
                if alpha {
                    blend(pixel, alpha: p[s + channels - 1], x: left, y: top, size: scale)
                } else {
                    fillRect(x: left, y: top, width: scale, height: scale, color: pixel)
                }
            }
        }
    }

    /// Blends `color` with straight alpha `alpha` over the `size` x `size` block at (`x`, `y`).
    private mutating func blend(_ color: Color, alpha: UInt8, x: Int, y: Int, size: Int) {
        let a = Int(alpha)
        func mix(_ over: UInt8, _ below: UInt8) -> UInt8 {
            UInt8((Int(over) * a + Int(below) * (255 - a) + 127) / 255)
        }
        for row in max(y, 0)..<max(min(y + size, height), max(y, 0)) {
            for column in max(x, 0)..<max(min(x + size, width), max(x, 0)) {
                let below = self[column, row]
                setPixel(x: column, y: row,
                         color: Color(mix(color.red, below.red), mix(color.green, below.green), mix(color.blue, below.blue)))
            }
        }
    }

    /// Draws `text` with ``BitmapFont`` at integer `scale`, its top-left corner at (`x`, `y`).
    ///
    /// Lines split at `"\n"`; only set glyph pixels are painted, so the background shows through.
    public mutating func drawText(_ text: String, x: Int, y: Int, scale: Int = 1, color: Color = .black) {
        precondition(scale >= 1, "font scale must be at least 1, got \(scale)")
        var lineTop = y
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var left = x
            for scalar in line.unicodeScalars {
                let rows = BitmapFont.rows(of: scalar)
                for (row, bits) in rows.enumerated() where bits != 0 {
                    for column in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - column)) != 0 {
                        fillRect(x: left + column * scale, y: lineTop + row * scale,
                                 width: scale, height: scale, color: color)
                    }
                }
                left += BitmapFont.advance * scale
            }
            lineTop += BitmapFont.lineHeight * scale
        }
    }

    /// The canvas as an 8-bit RGB image.
    public func makeImage() -> Image8 {
        Image8(width: width, height: height, layout: .rgb, pixels: pixels)
    }
}
