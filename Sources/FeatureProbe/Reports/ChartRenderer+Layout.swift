import Foundation

extension ChartRenderer {
    /// Where everything of a chart goes, in pixels, and how data maps to pixels.
    struct Layout {
        /// How the labels of a categorical x axis are drawn.
        enum CategoryLabels: Equatable {
            case horizontal(scale: Int)
            /// Turned a quarter turn anticlockwise, every `step`-th category.
            case rotated(scale: Int, step: Int)
        }

        struct LegendEntry {
            enum Kind { case series(index: Int, connect: Bool), reference, pareto }
            let name: String
            let kind: Kind
        }

        static let margin = 16
        static let fontScale = 2
        static let titleScale = 3
        /// Space between the plot frame and the outermost data.
        static let padding = 14
        static let tickLength = 5
        static let markerRadius = 5
        static let legendRowHeight = 22
        static let legendSwatchWidth = 30

        let width: Int
        let height: Int
        let title: (text: String, scale: Int)
        let isEmpty: Bool
        let logY: Bool
        let plotLeft: Int, plotTop: Int, plotRight: Int, plotBottom: Int
        let xDomain: (lower: Double, upper: Double)
        /// In log10 units when `logY`.
        let yDomain: (lower: Double, upper: Double)
        let xTicks: [(value: Double, label: String)]
        let yTicks: [(value: Double, label: String)]
        let categories: [String]?
        let categoryLabels: CategoryLabels
        let legend: [LegendEntry]
        let legendLeft: Int, legendWidth: Int

        init(chart: Chart) {
            precondition(chart.width >= 200 && chart.height >= 150,
                         "a chart is at least 200 x 150 pixels, got \(chart.width) x \(chart.height)")
            let u = Layout.fontScale, margin = Layout.margin
            width = chart.width
            height = chart.height
            logY = chart.logY
            categories = chart.categories
            title = HeatmapRenderer.fitted(chart.title, maxWidth: width - 2 * margin,
                                           preferredScale: Layout.titleScale, comfortableScale: u)

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
            for (index, series) in chart.series.enumerated() where series.points.contains(where: usable) {
                legend.append(LegendEntry(name: Layout.shortened(series.name, to: 32), kind: .series(index: index, connect: series.connect)))
            }
            for reference in references { legend.append(LegendEntry(name: Layout.shortened(reference.name, to: 32), kind: .reference)) }
            if let front = chart.paretoFront, front.contains(where: usable) {
                legend.append(LegendEntry(name: "Pareto front", kind: .pareto))
            }
            self.legend = isEmpty ? [] : legend
            let nameWidth = self.legend.map { BitmapFont.measure($0.name, scale: u).width }.max() ?? 0
            legendWidth = self.legend.isEmpty ? 0 : 10 + Layout.legendSwatchWidth + 8 + nameWidth + 10
            legendLeft = width - margin - legendWidth

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
            let yTickLabelWidth = yTicks.map { BitmapFont.measure($0.label, scale: u).width }.max() ?? 0
            let captionHeight = BitmapFont.glyphHeight * u
            plotLeft = margin + captionHeight + 10 + yTickLabelWidth + 6 + Layout.tickLength
            let rightEdge = self.legend.isEmpty ? width - margin : legendLeft - 20
            plotRight = max(plotLeft + 40, rightEdge)
            let innerWidth = plotRight - plotLeft - 2 * Layout.padding

            // x ticks and the height of their labels.
            var labelBlockHeight = BitmapFont.glyphHeight * u
            if let categories = chart.categories {
                xDomain = (0, Double(max(categories.count, 1)))
                let ticks = categories.enumerated().map { (value: Double($0.offset), label: Layout.shortened($0.element, to: 24)) }
                xTicks = ticks
                let spacing = Double(innerWidth) / Double(max(categories.count, 1))
                let widest = ticks.map { BitmapFont.measure($0.label, scale: u).width }.max() ?? 0
                if Double(widest + 10) <= spacing {
                    categoryLabels = .horizontal(scale: u)
                } else {
                    let scale = spacing >= Double(BitmapFont.glyphHeight * u + 4) ? u : 1
                    let step = max(1, Int((Double(BitmapFont.glyphHeight * scale + 3) / spacing).rounded(.up)))
                    categoryLabels = .rotated(scale: scale, step: step)
                    labelBlockHeight = stride(from: 0, to: ticks.count, by: step)
                        .map { BitmapFont.measure(ticks[$0].label, scale: scale).width }.max() ?? 0
                }
            } else {
                categoryLabels = .horizontal(scale: u)
                let xs = points.map(\.x)
                let low = xs.min() ?? 0, high = xs.max() ?? 1
                // The most intervals (up to 8) whose labels still leave room between them.
                var chosen = ChartTicks.linear(lower: low, upper: high, intervals: 2)
                for intervals in stride(from: 8, through: 2, by: -1) {
                    let candidate = ChartTicks.linear(lower: low, upper: high, intervals: intervals)
                    let labels = ChartTicks.labels(candidate.ticks, step: candidate.step)
                    let widest = labels.map { BitmapFont.measure($0, scale: u).width }.max() ?? 0
                    if (widest + 16) * (candidate.ticks.count - 1) <= innerWidth { chosen = candidate; break }
                }
                xTicks = Array(zip(chosen.ticks, ChartTicks.labels(chosen.ticks, step: chosen.step)))
                xDomain = (chosen.ticks.first!, chosen.ticks.last!)
            }

            // Vertical layout: title, plot, tick labels, x caption.
            plotTop = margin + BitmapFont.measure(title.text, scale: title.scale).height + 14
            let bottom = height - margin - captionHeight - 10 - labelBlockHeight - 6 - Layout.tickLength
            plotBottom = max(plotTop + 40, bottom)
        }

        var innerLeft: Int { plotLeft + Layout.padding }
        var innerRight: Int { plotRight - Layout.padding }
        var innerTop: Int { plotTop + Layout.padding }
        var innerBottom: Int { plotBottom - Layout.padding }

        /// The column of data coordinate `x` (a category index on a categorical axis: its centre).
        func pixelX(_ x: Double) -> Int {
            let span = Double(innerRight - innerLeft)
            if categories != nil {
                return innerLeft + Int(((x + 0.5) / (xDomain.upper - xDomain.lower) * span).rounded())
            }
            return innerLeft + Int(((x - xDomain.lower) / (xDomain.upper - xDomain.lower) * span).rounded())
        }

        /// The row of data coordinate `y`.
        func pixelY(_ y: Double) -> Int {
            let t = logY ? log10(y) : y
            let span = Double(innerBottom - innerTop)
            return innerBottom - Int(((t - yDomain.lower) / (yDomain.upper - yDomain.lower) * span).rounded())
        }

        /// `text` cut to `limit` characters, keeping its end ("...conv1.gwc") since paths differ there.
        static func shortened(_ text: String, to limit: Int) -> String {
            text.count <= limit ? text : "..." + String(text.suffix(limit - 3))
        }
    }
}
