/// A built-in 5x7 pixel font for the printable ASCII characters 32...126.
///
/// The glyphs were drawn by hand for this project (see `tools/make_font_table.py`, which
/// generates ``glyphRows`` in `BitmapFont+Glyphs.swift`), so pictures need no font files.
/// Each glyph is ``glyphWidth`` x ``glyphHeight`` pixels: capitals and digits use rows 0-6 with
/// the baseline on row 6, and row 7 holds descenders (`g`, `j`, `p`, `q`, `y`, `,`, `_`).
/// Text advances ``advance`` pixels per character (one blank column between glyphs) and
/// ``lineHeight`` pixels per line; everything is multiplied by an integer `scale`.
/// Characters outside 32...126 are drawn as `?`.
public enum BitmapFont {
    /// Width of a glyph in font pixels.
    public static let glyphWidth = 5
    /// Height of a glyph in font pixels, descender row included.
    public static let glyphHeight = 8
    /// Horizontal distance from one character to the next, in font pixels.
    public static let advance = 6
    /// Vertical distance from one line to the next, in font pixels.
    public static let lineHeight = 10
    /// The character codes that have glyphs.
    public static let codes: ClosedRange<UInt32> = 32...126

    /// Number of glyphs in the font (95: ASCII 32...126).
    public static var glyphCount: Int { glyphRows.count / glyphHeight }

    /// The rows of the glyph for `scalar`, top first; bit 4 of each row is the leftmost column.
    ///
    /// Characters outside ``codes`` get the glyph of `?`.
    public static func rows(of scalar: Unicode.Scalar) -> ArraySlice<UInt8> {
        let code = codes.contains(scalar.value) ? scalar.value : 63  // "?"
        let start = Int(code - codes.lowerBound) * glyphHeight
        return glyphRows[start..<start + glyphHeight]
    }

    /// Whether the glyph of `scalar` has its pixel at `column`, `row` set.
    public static func isSet(_ scalar: Unicode.Scalar, column: Int, row: Int) -> Bool {
        precondition((0..<glyphWidth).contains(column) && (0..<glyphHeight).contains(row),
                     "glyph pixel (\(column), \(row)) is outside the \(glyphWidth)x\(glyphHeight) cell")
        let bits = rows(of: scalar)[rows(of: scalar).startIndex + row]
        return bits & (1 << (glyphWidth - 1 - column)) != 0
    }

    /// The size in pixels of `text` drawn at `scale`: the widest line and all lines.
    ///
    /// A line of `n` characters is `(n * advance - 1) * scale` wide (no trailing blank column);
    /// `k` lines are `((k - 1) * lineHeight + glyphHeight) * scale` tall. Lines split at `"\n"`.
    /// Empty text measures 0 x 0.
    public static func measure(_ text: String, scale: Int = 1) -> (width: Int, height: Int) {
        precondition(scale >= 1, "font scale must be at least 1, got \(scale)")
        guard !text.isEmpty else { return (0, 0) }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let widest = lines.map { $0.unicodeScalars.count }.max() ?? 0
        let width = widest == 0 ? 0 : (widest * advance - 1) * scale
        let height = ((lines.count - 1) * lineHeight + glyphHeight) * scale
        return (width, height)
    }
}
