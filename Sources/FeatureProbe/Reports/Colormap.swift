import Drawing

/// A colour map: a 256-entry sRGB table spread over a numeric domain.
///
/// Two maps are built in, both generated from matplotlib by `tools/make_colormap_tables.py`:
/// - ``viridis`` over `[0, 1]`: matplotlib's perceptually uniform default (van der Walt & Smith,
///   2015, CC0), dark purple at 0 to yellow at 1;
/// - ``coolwarm`` over `[-1, 1]`: Kenneth Moreland's diverging map ("Diverging Color Maps for
///   Scientific Visualization", 2009), blue at -1, light gray at 0, red at 1.
///
/// A value is looked up the way matplotlib does: `u = (t - lower) / (upper - lower)` is clamped to
/// `[0, 1]` and entry `min(Int(u * 256), 255)` is taken. NaN maps to ``nanColor``, a mid gray that
/// neither table contains.
public struct Colormap: Sendable {
    /// Short name ("viridis", "coolwarm").
    public let name: String
    /// The values mapped to the first and last entries; values outside are clamped.
    public let domain: ClosedRange<Double>
    /// 256 entries, `0xRRGGBB`.
    let table: [UInt32]

    init(name: String, domain: ClosedRange<Double>, table: [UInt32]) {
        precondition(table.count == 256, "a colour map has 256 entries, got \(table.count)")
        precondition(domain.lowerBound < domain.upperBound, "a colour map domain must not be empty, got \(domain)")
        self.name = name
        self.domain = domain
        self.table = table
    }

    /// Perceptually uniform sequential map over `[0, 1]`.
    public static let viridis = Colormap(name: "viridis", domain: 0...1, table: viridisTable)
    /// Diverging blue-gray-red map over `[-1, 1]`, light gray at 0.
    public static let coolwarm = Colormap(name: "coolwarm", domain: -1...1, table: coolwarmTable)
    /// The colour of NaN: mid gray (128, 128, 128).
    public static let nanColor: (UInt8, UInt8, UInt8) = (128, 128, 128)

    /// The table index for `t` (matplotlib's rule); `nil` for NaN.
    public func index(_ t: Double) -> Int? {
        guard !t.isNaN else { return nil }
        let u = (t - domain.lowerBound) / (domain.upperBound - domain.lowerBound)
        return min(max(Int((min(max(u, 0), 1) * 256).rounded(.down)), 0), 255)
    }

    /// The sRGB colour of `t` as (red, green, blue).
    public func rgb(_ t: Double) -> (UInt8, UInt8, UInt8) {
        guard let i = index(t) else { return Colormap.nanColor }
        let entry = table[i]
        return (UInt8(entry >> 16), UInt8((entry >> 8) & 0xFF), UInt8(entry & 0xFF))
    }

    /// The colour of `t` as a ``Drawing/Color``.
    public func color(_ t: Double) -> Color {
        let (r, g, b) = rgb(t)
        return Color(r, g, b)
    }
}
