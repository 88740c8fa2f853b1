/// What ``ChartRenderer`` draws: a line or scatter chart with several series.
///
/// The x axis is numeric, or categorical when ``categories`` is set (then a point's `x` is the
/// index of its category, `0..<categories.count`). The y axis is linear or base-10 logarithmic.
/// Horizontal ``references`` (a baseline, say) are drawn as dashed lines across the plot, and an
/// optional ``paretoFront`` as a dark step line; both get legend entries.
public struct Chart: Sendable {
    /// A horizontal dashed reference line at `y`, with its legend entry.
    public struct Reference: Sendable {
        public var name: String
        public var y: Double

        public init(name: String, y: Double) {
            self.name = name
            self.y = y
        }
    }

    /// The line above the plot.
    public var title: String
    /// The caption under the x axis.
    public var xLabel: String
    /// The caption beside the y axis (drawn rotated).
    public var yLabel: String
    /// The data, each series in its own colour and marker shape (tab10 colours, in order).
    public var series: [ChartSeries]
    /// Category names for a categorical x axis, in axis order; `nil` for a numeric x axis.
    public var categories: [String]?
    /// Whether the y axis is logarithmic (base 10).
    public var logY: Bool
    /// Horizontal reference lines.
    public var references: [Reference]
    /// Points of a Pareto front, drawn as a step line in increasing `x` (see
    /// ``ChartRenderer/paretoFront(of:)``); `nil` draws none.
    public var paretoFront: [(x: Double, y: Double)]?
    /// The figure size in pixels at 1x (PNGs are drawn at 2x).
    public var width: Int
    public var height: Int

    /// Creates a chart; the picture is 960 x 600 pixels unless given.
    public init(title: String, xLabel: String, yLabel: String, series: [ChartSeries],
                categories: [String]? = nil, logY: Bool = false, references: [Reference] = [],
                paretoFront: [(x: Double, y: Double)]? = nil, width: Int = 960, height: Int = 600) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.categories = categories
        self.logY = logY
        self.references = references
        self.paretoFront = paretoFront
        self.width = width
        self.height = height
    }
}
