import Drawing
import Foundation

extension ChartRenderer {
    /// Where everything of a chart goes, in pixels at 1x, and how data maps to them.
    struct Layout {
        /// How the labels of a categorical x axis are drawn.
        enum CategoryLabels: Equatable {
            case horizontal
            /// Turned a quarter turn anticlockwise, every `step`-th category.
            case rotated(step: Int)
        }

        struct LegendEntry {
            enum Kind { case series(index: Int, connect: Bool), reference, pareto }
            let name: String
            let kind: Kind
        }

        static let margin = 16.0
        /// Space between the plot frame and the outermost data.
        static let padding = 14.0
        static let tickLength = 5.0
        static let markerRadius = 5.0
        static let legendRowHeight = 22.0
        static let legendSwatchWidth = 30.0
        /// Legend names longer than this are cut, keeping their end.
        static let legendNameWidth = 260.0

        let width: Int
        let height: Int
        let title: (lines: [String], font: Font)
        let isEmpty: Bool
        let logY: Bool
        let plotRect: Rect
        let xDomain: (lower: Double, upper: Double)
        /// In log10 units when `logY`.
        let yDomain: (lower: Double, upper: Double)
        let xTicks: [(value: Double, label: String)]
        let yTicks: [(value: Double, label: String)]
        let categories: [String]?
        let categoryLabels: CategoryLabels
        let legend: [LegendEntry]
        let legendLeft: Double, legendWidth: Double

        init(chart: Chart) {
            precondition(chart.width >= 200 && chart.height >= 150,
                         "a chart is at least 200 x 150 pixels, got \(chart.width) x \(chart.height)")
            let margin = Layout.margin, font = FigureStyle.label
            width = chart.width
            height = chart.height
            logY = chart.logY
            categories = chart.categories
            title = FigureStyle.fitted(chart.title, font: FigureStyle.title, smallest: 13, maxWidth: Double(width) - 2 * margin)

            // The data that sets the axis ranges.
            let logY = chart.logY
            func usable(_ point: (x: Double, y: Double)) -> Bool {
                point.x.isFinite && point.y.isFinite && (!logY || point.y > 0)
            }
            let points = chart.series.flatMap { $0.points.filter(usable) } + (chart.paretoFront ?? []).filter(usable)
            let references = chart.references.filter { $0.y.isFinite && (!logY || $0.y > 0) }
            isEmpty = points.isEmpty && (references.isEmpty || chart.categories?.isEmpty != false)

            // Legend: series with something to draw, then references, then the front.
            var legend: [LegendEntry] = []
            func name(_ text: String) -> String {
                TextMetrics.truncated(text, font: font, maxWidth: Layout.legendNameWidth, keepingEnd: true)
            }
            for (index, series) in chart.series.enumerated() where series.points.contains(where: usable) {
                legend.append(LegendEntry(name: name(series.name), kind: .series(index: index, connect: series.connect)))
            }
            for reference in references { legend.append(LegendEntry(name: name(reference.name), kind: .reference)) }
            if let front = chart.paretoFront, front.contains(where: usable) {
                legend.append(LegendEntry(name: "Pareto front", kind: .pareto))
            }
            self.legend = isEmpty ? [] : legend
            let nameWidth = TextMetrics.widest(self.legend.map(\.name), font: font)
            legendWidth = self.legend.isEmpty ? 0 : (10 + Layout.legendSwatchWidth + 8 + nameWidth + 10).rounded(.up)
            legendLeft = Double(width) - margin - legendWidth

            // y ticks, aiming at one interval per ~70 pixels of an ordinary-sized plot.
            let bars = chart.series.flatMap { $0.errorBarEnds.filter(usable) }
            let ys = points.map(\.y) + references.map(\.y) + bars.map(\.y)
            let yLow = ys.min() ?? 0, yHigh = ys.max() ?? 1
            if logY {
                let ticks = ChartTicks.logarithmic(lower: yLow, upper: yHigh)
                yTicks = Array(zip(ticks, ChartTicks.logarithmicLabels(ticks)))
                yDomain = (log10(ticks.first!), log10(ticks.last!))
            } else {
                let (ticks, step) = ChartTicks.linear(lower: yLow, upper: yHigh,
                                                      intervals: max(3, min(8, (height - 220) / 70)))
                yTicks = Array(zip(ticks, ChartTicks.labels(ticks, step: step)))
                yDomain = (ticks.first!, ticks.last!)
            }

            // Horizontal layout: rotated y caption, y tick labels, plot, legend.
            let yTickLabelWidth = TextMetrics.widest(yTicks.map(\.label), font: font)
            let captionHeight = TextMetrics.measure("Ag", font: FigureStyle.caption).height
            let plotLeft = (margin + captionHeight + 8 + yTickLabelWidth + 4 + Layout.tickLength).rounded()
            let rightEdge = self.legend.isEmpty ? Double(width) - margin : legendLeft - 20
            let plotRight = max(plotLeft + 40, rightEdge)
            let innerWidth = plotRight - plotLeft - 2 * Layout.padding
            let lineHeight = TextMetrics.measure("Ag", font: font).height

            // x ticks and the height of their labels.
            var labelBlockHeight = lineHeight
            if let categories = chart.categories {
                xDomain = (0, Double(max(categories.count, 1)))
                let ticks = categories.enumerated().map { entry in
                    (value: Double(entry.offset), label: TextMetrics.truncated(entry.element, font: font, maxWidth: 180, keepingEnd: true))
                }
                xTicks = ticks
                let spacing = innerWidth / Double(max(categories.count, 1))
                let widest = TextMetrics.widest(ticks.map(\.label), font: font)
                if widest + 10 <= spacing {
                    categoryLabels = .horizontal
                } else {
                    let step = max(1, Int(((lineHeight + 3) / spacing).rounded(.up)))
                    categoryLabels = .rotated(step: step)
                    labelBlockHeight = TextMetrics.widest(stride(from: 0, to: ticks.count, by: step).map { ticks[$0].label }, font: font)
                }
            } else {
                categoryLabels = .horizontal
                let xs = points.map(\.x)
                let low = xs.min() ?? 0, high = xs.max() ?? 1
                // The most intervals (up to 8) whose labels still leave room between them.
                var chosen = ChartTicks.linear(lower: low, upper: high, intervals: 2)
                for intervals in stride(from: 8, through: 2, by: -1) {
                    let candidate = ChartTicks.linear(lower: low, upper: high, intervals: intervals)
                    let labels = ChartTicks.labels(candidate.ticks, step: candidate.step)
                    let widest = TextMetrics.widest(labels, font: font)
                    if (widest + 16) * Double(candidate.ticks.count - 1) <= innerWidth { chosen = candidate; break }
                }
                xTicks = Array(zip(chosen.ticks, ChartTicks.labels(chosen.ticks, step: chosen.step)))
                xDomain = (chosen.ticks.first!, chosen.ticks.last!)
            }

            // Vertical layout: title, plot, tick labels, x caption.
            let plotTop = (margin + FigureStyle.height(ofLines: title.lines.count, font: title.font) + 12).rounded()
            let bottom = Double(height) - margin - captionHeight - 8 - labelBlockHeight - 4 - Layout.tickLength
            let plotBottom = max(plotTop + 40, bottom.rounded())
            plotRect = Rect(x: plotLeft, y: plotTop, width: plotRight - plotLeft, height: plotBottom - plotTop)
        }

        var innerLeft: Double { plotRect.x + Layout.padding }
        var innerRight: Double { plotRect.maxX - Layout.padding }
        var innerTop: Double { plotRect.y + Layout.padding }
        var innerBottom: Double { plotRect.maxY - Layout.padding }

        /// The figure x of data coordinate `x` (a category index on a categorical axis: its centre).
        func pixelX(_ x: Double) -> Double {
            let span = innerRight - innerLeft
            if categories != nil {
                return innerLeft + (x + 0.5) / (xDomain.upper - xDomain.lower) * span
            }
            return innerLeft + (x - xDomain.lower) / (xDomain.upper - xDomain.lower) * span
        }

        /// The figure y of data coordinate `y`.
        func pixelY(_ y: Double) -> Double {
            let t = logY ? log10(y) : y
            return innerBottom - (t - yDomain.lower) / (yDomain.upper - yDomain.lower) * (innerBottom - innerTop)
        }
    }
}
