import Drawing

/// Draws line and scatter charts (``Chart``) as figures (PNG, SVG, PDF through ``FigureEncoder``).
///
/// Layout: the title across the top; the plot with a frame, light gridlines at the ticks, tick
/// marks and labels on the left and bottom edges, the y caption turned a quarter turn beside the
/// y tick labels and the x caption under the x tick labels; the legend in a framed box to the
/// right of the plot. Ticks follow ``ChartTicks``; the data sit ``Layout/padding`` pixels inside
/// the frame so that markers at the ends of the range are whole.
///
/// Series `i` is drawn in ``ChartMarker/color(ofSeries:)`` with ``ChartMarker/marker(ofSeries:)``;
/// connected series get a line through their points in order of increasing `x`. References are
/// dashed black lines, the Pareto front a dark gray step line whose points are ringed. A
/// categorical x axis labels every category horizontally when the labels fit, else turned a
/// quarter turn, and every `n`-th when even those crowd. A chart with nothing to draw shows its
/// title and "no data" in an empty frame.
public enum ChartRenderer {
    static let paretoColor = Color(gray: 50)
    static let lineWidth = 2.0

    /// Draws `chart` at `chart.width` x `chart.height` pixels (at 1x).
    public static func render(_ chart: Chart) -> Figure {
        let layout = Layout(chart: chart)
        var figure = Figure(width: Double(layout.width), height: Double(layout.height))
        FigureStyle.drawLines(layout.title.lines, at: Layout.margin, top: Layout.margin, font: layout.title.font, on: &figure)
        let plot = layout.plotRect

        guard !layout.isEmpty else {
            figure.stroke(plot, Stroke(FigureStyle.frame))
            figure.text("no data", at: Point(plot.midX, plot.midY), font: FigureStyle.title.sized(22),
                        color: Color(gray: 110), anchor: .middle, baseline: .middle)
            return figure
        }

        drawAxes(chart, layout: layout, on: &figure)

        // References, the front, then lines under markers.
        for reference in chart.references where reference.y.isFinite && (!chart.logY || reference.y > 0) {
            let y = layout.pixelY(reference.y)
            figure.line(from: Point(plot.x, y), to: Point(plot.maxX, y), Stroke(.black, width: 1.5, dash: [7, 5]))
        }
        if let front = chart.paretoFront {
            let steps = usable(front, logY: chart.logY).sorted { $0.x < $1.x }
            var path: [Point] = []
            for (index, point) in steps.enumerated() {
                let x = layout.pixelX(point.x), y = layout.pixelY(point.y)
                if index > 0 { path.append(Point(x, path.last!.y)) }
                path.append(Point(x, y))
            }
            figure.polyline(path, Stroke(paretoColor, width: lineWidth))
            for point in steps {
                figure.add(.circle(center: Point(layout.pixelX(point.x), layout.pixelY(point.y)),
                                   radius: Layout.markerRadius + 4, fill: nil, stroke: Stroke(paretoColor, width: 1.5)))
            }
        }
        for (index, series) in chart.series.enumerated() where series.connect {
            let points = usable(series.points, logY: chart.logY).sorted { $0.x < $1.x }
            figure.polyline(points.map { Point(layout.pixelX($0.x), layout.pixelY($0.y)) },
                            Stroke(ChartMarker.color(ofSeries: index), width: lineWidth))
        }
        for (index, series) in chart.series.enumerated() {
            drawErrorBars(series, color: ChartMarker.color(ofSeries: index), layout: layout, logY: chart.logY, on: &figure)
        }
        for (index, series) in chart.series.enumerated() {
            let marker = ChartMarker.marker(ofSeries: index), color = ChartMarker.color(ofSeries: index)
            for point in usable(series.points, logY: chart.logY) {
                figure.add(marker.shape(at: Point(layout.pixelX(point.x), layout.pixelY(point.y)),
                                        radius: Layout.markerRadius, color: color))
            }
        }
        for (index, series) in chart.series.enumerated() {
            guard let labels = series.pointLabels else { continue }
            for (point, label) in zip(series.points, labels) where !label.isEmpty && !usable([point], logY: chart.logY).isEmpty {
                figure.text(label, at: Point(layout.pixelX(point.x) + Layout.markerRadius + 4, layout.pixelY(point.y) - 2),
                            font: FigureStyle.label.sized(11), color: ChartMarker.color(ofSeries: index), baseline: .bottom)
            }
        }
        drawLegend(layout: layout, on: &figure)
        return figure
    }

    /// The points of `points` on the Pareto front for "smaller x, larger y is better": those that
    /// no other point matches or beats in both, in increasing `x` (and so increasing `y`).
    ///
    /// Among points with equal coordinates one is kept. Non-finite points are ignored.
    public static func paretoFront(of points: [(x: Double, y: Double)]) -> [(x: Double, y: Double)] {
        let sorted = points.filter { $0.x.isFinite && $0.y.isFinite }
            .sorted { $0.x != $1.x ? $0.x < $1.x : $0.y > $1.y }
        var front: [(x: Double, y: Double)] = []
        for point in sorted where front.last.map({ point.y > $0.y }) ?? true {
            front.append(point)
        }
        return front
    }

    // MARK: - Pieces

    static func usable(_ points: [(x: Double, y: Double)], logY: Bool) -> [(x: Double, y: Double)] {
        points.filter { $0.x.isFinite && $0.y.isFinite && (!logY || $0.y > 0) }
    }

    /// Frame, gridlines, ticks, tick labels and axis captions.
    static func drawAxes(_ chart: Chart, layout: Layout, on figure: inout Figure) {
        let plot = layout.plotRect, tick = Layout.tickLength
        let font = FigureStyle.label, frame = Stroke(FigureStyle.frame), grid = Stroke(FigureStyle.grid)
        for (value, label) in layout.yTicks {
            let y = layout.pixelY(value)
            figure.line(from: Point(plot.x, y), to: Point(plot.maxX, y), grid)
            figure.line(from: Point(plot.x - tick, y), to: Point(plot.x, y), frame)
            figure.text(label, at: Point(plot.x - tick - 4, y), font: font, anchor: .end, baseline: .middle)
        }
        let labelTop = plot.maxY + tick + 4
        switch layout.categoryLabels {
        case .horizontal:
            for (value, label) in layout.xTicks {
                let x = layout.pixelX(value)
                figure.line(from: Point(x, plot.y), to: Point(x, plot.maxY), grid)
                figure.line(from: Point(x, plot.maxY), to: Point(x, plot.maxY + tick), frame)
                let half = TextMetrics.width(label, font: font) / 2
                let centre = min(max(x, half + 2), Double(layout.width) - 2 - half)
                figure.text(label, at: Point(centre, labelTop), font: font, anchor: .middle)
            }
        case .rotated(let step):
            for (index, (value, label)) in layout.xTicks.enumerated() {
                let x = layout.pixelX(value)
                figure.line(from: Point(x, plot.y), to: Point(x, plot.maxY), grid)
                guard index % step == 0 else { continue }
                figure.line(from: Point(x, plot.maxY), to: Point(x, plot.maxY + tick), frame)
                figure.text(label, at: Point(x, labelTop), font: font, anchor: .end, baseline: .middle, rotation: .up)
            }
        }
        figure.stroke(plot, Stroke(FigureStyle.frame, width: 1.2))

        // Captions: x centred under the plot, y turned and centred beside it.
        let caption = FigureStyle.caption
        let xCaption = TextMetrics.truncated(chart.xLabel, font: caption, maxWidth: Double(layout.width) - 2 * Layout.margin)
        let half = TextMetrics.width(xCaption, font: caption) / 2
        let centre = min(max(plot.midX, Layout.margin + half), Double(layout.width) - Layout.margin - half)
        figure.text(xCaption, at: Point(centre, Double(layout.height) - Layout.margin), font: caption,
                    anchor: .middle, baseline: .bottom)
        let yCaption = TextMetrics.truncated(chart.yLabel, font: caption, maxWidth: plot.height, keepingEnd: false)
        figure.text(yCaption, at: Point(Layout.margin, plot.midY), font: caption, anchor: .middle, baseline: .top, rotation: .up)
    }

    /// The legend box to the right of the plot.
    static func drawLegend(layout: Layout, on figure: inout Figure) {
        guard !layout.legend.isEmpty else { return }
        let row = Layout.legendRowHeight, top = layout.plotRect.y
        let box = Rect(x: layout.legendLeft, y: top, width: layout.legendWidth, height: 8 + Double(layout.legend.count) * row + 4)
        figure.add(.rectangle(box, fill: .white, stroke: Stroke(Color(gray: 150))))
        for (position, entry) in layout.legend.enumerated() {
            let centreY = top + 8 + Double(position) * row + row / 2
            let swatchLeft = layout.legendLeft + 10, swatchRight = swatchLeft + Layout.legendSwatchWidth
            let centreX = (swatchLeft + swatchRight) / 2
            switch entry.kind {
            case .series(let index, let connect):
                let color = ChartMarker.color(ofSeries: index)
                if connect { figure.line(from: Point(swatchLeft, centreY), to: Point(swatchRight, centreY), Stroke(color, width: lineWidth)) }
                figure.add(ChartMarker.marker(ofSeries: index).shape(at: Point(centreX, centreY), radius: Layout.markerRadius, color: color))
            case .reference:
                figure.line(from: Point(swatchLeft, centreY), to: Point(swatchRight, centreY), Stroke(.black, width: 1.5, dash: [7, 5]))
            case .pareto:
                figure.polyline([Point(swatchLeft, centreY + 5), Point(centreX, centreY + 5), Point(centreX, centreY - 5),
                                 Point(swatchRight, centreY - 5)], Stroke(paretoColor, width: lineWidth))
            }
            figure.text(entry.name, at: Point(swatchRight + 8, centreY), font: FigureStyle.label, baseline: .middle)
        }
    }

    /// A vertical bar with caps from `y - e` to `y + e` for each point with an error.
    static func drawErrorBars(_ series: ChartSeries, color: Color, layout: Layout, logY: Bool, on figure: inout Figure) {
        guard let errors = series.errors else { return }
        let stroke = Stroke(color, width: 1.5), cap = Layout.markerRadius + 2
        for (point, error) in zip(series.points, errors) where error.isFinite && error > 0 && point.x.isFinite && point.y.isFinite {
            let low = point.y - error, high = point.y + error
            guard !logY || low > 0 else { continue }
            let x = layout.pixelX(point.x), top = layout.pixelY(high), bottom = layout.pixelY(low)
            figure.line(from: Point(x, top), to: Point(x, bottom), stroke)
            figure.line(from: Point(x - cap, top), to: Point(x + cap, top), stroke)
            figure.line(from: Point(x - cap, bottom), to: Point(x + cap, bottom), stroke)
        }
    }
}
