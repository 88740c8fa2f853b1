/// One named set of points on a ``Chart``.
///
/// Points whose coordinates are not finite are left out when drawing (and, on a logarithmic
/// axis, points whose `y` is not positive). On a categorical chart `x` is the category index.
public struct ChartSeries: Sendable {
    /// The legend entry. ASCII only; other characters are drawn as "?".
    public var name: String
    /// The points, in any order.
    public var points: [(x: Double, y: Double)]
    /// Whether a line joins the points in order of increasing `x`.
    public var connect: Bool

    /// Creates a series.
    public init(name: String, points: [(x: Double, y: Double)], connect: Bool = true) {
        self.name = name
        self.points = points
        self.connect = connect
    }
}
