/// The type of a piece of text: DejaVu Sans (Debian's `fonts-dejavu-core`) at a size in pixels.
///
/// One family keeps every figure alike and covers the characters figures need (Greek letters,
/// ≥, ×, ±, −). Sizes are in the figure's units, pixels at 1x.
public struct Font: Sendable, Hashable {
    public enum Weight: Sendable, Hashable {
        case regular
        case bold
    }

    /// The family every figure is set in.
    public static let family = "DejaVu Sans"

    /// The em size in pixels.
    public var size: Double
    public var weight: Weight

    /// Creates a font of `size` pixels.
    ///
    /// - Precondition: `size` is positive and finite.
    public init(size: Double, weight: Weight = .regular) {
        precondition(size > 0 && size.isFinite, "a font size must be positive and finite, got \(size)")
        self.size = size
        self.weight = weight
    }

    /// This font at another size.
    public func sized(_ size: Double) -> Font { Font(size: size, weight: weight) }

    /// This font in bold.
    public var bold: Font { Font(size: size, weight: .bold) }
}

/// The size of a line of text as ``TextMetrics`` measures it.
public struct TextExtent: Sendable, Equatable {
    /// The advance width: how far the next text would start.
    public var width: Double
    /// Height above the baseline of the font's tallest glyphs (the font's ascent, not this text's ink).
    public var ascent: Double
    /// Depth below the baseline of the font's lowest glyphs, positive.
    public var descent: Double

    public init(width: Double, ascent: Double, descent: Double) {
        self.width = width
        self.ascent = ascent
        self.descent = descent
    }

    /// `ascent + descent`: the height of one line without extra leading.
    public var height: Double { ascent + descent }
}
