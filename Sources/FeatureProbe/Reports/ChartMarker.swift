import Drawing

/// The marker shapes and colours that tell chart series apart.
///
/// Series `i` gets colour `i % 10` of matplotlib's qualitative "tab10" palette and shape
/// `i % 6` of ``allCases``, so the first 30 series all look different.
public enum ChartMarker: Int, Sendable, CaseIterable {
    case circle, square, triangleUp, diamond, triangleDown, cross

    /// matplotlib's tab10 palette (Vega category10), in order.
    public static let palette: [Color] = [
        0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD,
        0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF,
    ].map { Color(hex: $0) }

    /// The colour of series `index`.
    public static func color(ofSeries index: Int) -> Color { palette[index % palette.count] }

    /// The marker of series `index`.
    public static func marker(ofSeries index: Int) -> ChartMarker { allCases[index % allCases.count] }

    /// The marker centred on `center`, about `2 * radius` across, filled with `color` and edged in
    /// white so that overlapping markers stay apart.
    public func shape(at center: Point, radius r: Double, color: Color) -> Shape {
        let (x, y) = (center.x, center.y)
        let edge = Stroke(.white, width: 0.8)
        switch self {
        case .circle:
            return .circle(center: center, radius: r, fill: color, stroke: edge)
        case .square:
            let side = r * 1.75
            return .rectangle(Rect(x: x - side / 2, y: y - side / 2, width: side, height: side), fill: color, stroke: edge)
        case .diamond:
            let s = r * 1.25
            return .path([Point(x, y - s), Point(x + s, y), Point(x, y + s), Point(x - s, y)], closed: true, fill: color, stroke: edge)
        case .triangleUp:
            let s = r * 1.25
            return .path([Point(x, y - s), Point(x + s, y + s * 0.8), Point(x - s, y + s * 0.8)], closed: true, fill: color, stroke: edge)
        case .triangleDown:
            let s = r * 1.25
            return .path([Point(x, y + s), Point(x + s, y - s * 0.8), Point(x - s, y - s * 0.8)], closed: true, fill: color, stroke: edge)
        case .cross:
            // An "x" drawn as one filled outline, so it reads like the other filled markers.
            let a = r, w = r * 0.38
            let outline = [
                Point(x - a, y - a + w), Point(x - a + w, y - a), Point(x, y - w), Point(x + a - w, y - a),
                Point(x + a, y - a + w), Point(x + w, y), Point(x + a, y + a - w), Point(x + a - w, y + a),
                Point(x, y + w), Point(x - a + w, y + a), Point(x - a, y + a - w), Point(x - w, y),
            ]
            return .path(outline, closed: true, fill: color, stroke: nil)
        }
    }
}
