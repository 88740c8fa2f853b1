/// An sRGB colour with straight (not premultiplied) alpha, 8 bits per sample.
public struct Color: Sendable, Hashable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8
    /// 255 is opaque, 0 fully transparent.
    public var alpha: UInt8

    /// Creates a colour from its red, green, blue and alpha samples.
    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8, alpha: UInt8 = 255) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }

    /// Creates an opaque colour from `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(UInt8((hex >> 16) & 0xFF), UInt8((hex >> 8) & 0xFF), UInt8(hex & 0xFF))
    }

    /// An opaque gray of the given level.
    public init(gray level: UInt8) { self.init(level, level, level) }

    /// This colour with another alpha.
    public func withAlpha(_ alpha: UInt8) -> Color { Color(red, green, blue, alpha: alpha) }

    /// `#rrggbb`, as CSS and SVG write it (alpha left out).
    public var hexString: String {
        "#" + [red, green, blue].map { value in
            let digits = String(value, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined()
    }

    public static let white = Color(255, 255, 255)
    public static let black = Color(0, 0, 0)
}
