/// One named set of points on a ``Chart``.
///
/// Points whose coordinates are not finite are left out when drawing (and, on a logarithmic
/// axis, points whose `y` is not positive). On a categorical chart `x` is the category index.
public struct ChartSeries: Sendable {
    /// The legend entry (any Unicode text; DejaVu Sans covers Greek letters and math signs).
    public var name: String
    /// The points, in any order.
    public var points: [(x: Double, y: Double)]
    /// Whether a line joins the points in order of increasing `x`.
    public var connect: Bool
    /// Vertical error bars: for point `i`, a bar from `y - errors[i]` to `y + errors[i]` (a
    /// standard deviation, say); nil or a non-finite or zero entry draws none.
    public var errors: [Double]?
    /// A short label beside each point ("r=0.25", say); nil or an empty entry draws none.
    public var pointLabels: [String]?

    /// Creates a series.
    public init(name: String, points: [(x: Double, y: Double)], connect: Bool = true, errors: [Double]? = nil,
                pointLabels: [String]? = nil) {
        precondition(errors.map { $0.count == points.count } ?? true, "a series needs one error per point (\(points.count)), got \(errors?.count ?? 0)")
        precondition(pointLabels.map { $0.count == points.count } ?? true,
                     "a series needs one label per point (\(points.count)), got \(pointLabels?.count ?? 0)")
        self.pointLabels = pointLabels
        self.name = name
        self.points = points
        self.connect = connect
        self.errors = errors
    }

    /// The ends of the error bars, for axis ranges: `(y - e, y + e)` per point with a usable error.
    var errorBarEnds: [(x: Double, y: Double)] {
        guard let errors else { return [] }
        return zip(points, errors).flatMap { point, error -> [(x: Double, y: Double)] in
            error.isFinite && error > 0 ? [(point.x, point.y - error), (point.x, point.y + error)] : []
        }
    }
}
