/// The marker shapes and colours that tell chart series apart.
///
/// Series `i` gets colour `i % 10` of matplotlib's qualitative "tab10" palette and shape
/// `i % 6` of ``allCases``, so the first 30 series all look different.
public enum ChartMarker: Int, Sendable, CaseIterable {
    case circle, square, triangleUp, diamond, triangleDown, cross

    /// matplotlib's tab10 palette (Vega category10), in order.
    public static let palette: [Canvas.Color] = [
        0x1F77B4, 0xFF7F0E, 0x2CA02C, 0xD62728, 0x9467BD,
        0x8C564B, 0xE377C2, 0x7F7F7F, 0xBCBD22, 0x17BECF,
    ].map { Canvas.Color(hex: $0) }

    /// The colour of series `index`.
    public static func color(ofSeries index: Int) -> Canvas.Color { palette[index % palette.count] }

    /// The marker of series `index`.
    public static func marker(ofSeries index: Int) -> ChartMarker { allCases[index % allCases.count] }

    /// Whether the offset (`dx`, `dy`) from the centre lies inside the shape of half-size `radius`.
    /// The centre itself always does.
    public func contains(dx: Int, dy: Int, radius: Int) -> Bool {
        let r = radius
        switch self {
        case .circle: return dx * dx + dy * dy <= r * r + r
        case .square: return abs(dx) < r && abs(dy) < r
        case .diamond: return abs(dx) + abs(dy) <= r
        case .triangleUp: return dy <= r - 1 && dy >= -r && 2 * abs(dx) <= dy + r
        case .triangleDown: return dy >= -(r - 1) && dy <= r && 2 * abs(dx) <= r - dy
        case .cross: return abs(dx) <= r && abs(dy) <= r && (abs(dx - dy) <= 1 || abs(dx + dy) <= 1)
        }
    }

    /// Draws the marker centred on (`x`, `y`).
    public func draw(on canvas: inout Canvas, x: Int, y: Int, radius: Int, color: Canvas.Color) {
        for dy in -radius...radius {
            for dx in -radius...radius where contains(dx: dx, dy: dy, radius: radius) {
                canvas.setPixel(x: x + dx, y: y + dy, color: color)
            }
        }
    }
}
