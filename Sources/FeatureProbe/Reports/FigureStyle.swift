import Drawing

/// The type sizes and line colours shared by every figure of the toolkit.
///
/// Sizes are pixels at 1x (PNGs are written at 2x). The family is DejaVu Sans (``Font/family``).
enum FigureStyle {
    /// Titles above a plot or picture.
    static let title = Font(size: 17, weight: .bold)
    /// Axis captions and subtitles.
    static let caption = Font(size: 14)
    /// Tick labels, legend entries and other small text.
    static let label = Font(size: 12.5)
    /// Frames and axes.
    static let frame = Color(gray: 40)
    /// Gridlines.
    static let grid = Color(gray: 228)
    /// Secondary text.
    static let muted = Color(gray: 96)

    /// `text` fitted into `maxWidth`: on one line in `font` (or down to `smallest` size), else
    /// wrapped onto two lines at `smallest`, else the two lines cut with "…".
    static func fitted(_ text: String, font: Font, smallest: Double, maxWidth: Double) -> (lines: [String], font: Font) {
        var size = font.size
        while size >= smallest {
            if TextMetrics.width(text, font: font.sized(size)) <= maxWidth { return ([text], font.sized(size)) }
            size -= 1
        }
        let small = font.sized(smallest)
        let lines = TextMetrics.wrapped(text, font: small, maxWidth: maxWidth)
        if lines.count <= 2 && lines.allSatisfy({ TextMetrics.width($0, font: small) <= maxWidth }) { return (lines, small) }
        let firstTwo = Array(lines.prefix(2))
        return (firstTwo.map { TextMetrics.truncated($0, font: small, maxWidth: maxWidth) }, small)
    }

    /// The height `lines` take in `font`, one line under the other.
    static func height(ofLines count: Int, font: Font) -> Double {
        Double(count) * lineHeight(font)
    }

    /// The distance between the baselines of two lines in `font`.
    static func lineHeight(_ font: Font) -> Double {
        TextMetrics.measure("Ag", font: font).height * 1.15
    }

    /// Draws `lines` one under the other, the first line's top at `top`.
    static func drawLines(_ lines: [String], at x: Double, top: Double, font: Font, color: Color = .black,
                          anchor: TextAnchor = .start, on figure: inout Figure) {
        for (index, line) in lines.enumerated() {
            figure.text(line, at: Point(x, top + Double(index) * lineHeight(font)), font: font, color: color, anchor: anchor)
        }
    }
}
