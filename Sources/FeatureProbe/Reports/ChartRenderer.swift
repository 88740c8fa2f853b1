import SPConvLab

/// Draws line and scatter charts (``Chart``) as RGB pictures, with no font or plotting library.
///
/// Layout: the title across the top; the plot with a frame, light gridlines at the ticks, tick
/// marks and labels on the left and bottom edges, the y caption turned a quarter turn beside the
/// y tick labels and the x caption under the x tick labels; the legend in a framed box to the
/// right of the plot. Ticks follow ``ChartTicks``; the data sit ``Layout/padding`` pixels inside
/// the frame so that markers at the ends of the range are whole.
///
/// Series `i` is drawn in ``ChartMarker/color(ofSeries:)`` with ``ChartMarker/marker(ofSeries:)``;
/// connected series get a two-pixel line through their points in order of increasing `x`.
/// References are dashed black lines, the Pareto front a dark gray step line whose points are
/// ringed. A categorical x axis labels every category horizontally when the labels fit, else
/// turned a quarter turn anticlockwise, smaller, and every `n`-th when even those crowd.
/// A chart with nothing to draw shows its title and "no data" in an empty frame.
public enum ChartRenderer {
    static let frameColor = Canvas.Color(gray: 40)
    static let gridColor = Canvas.Color(gray: 228)
    static let paretoColor = Canvas.Color(gray: 50)

    /// Renders `chart` at `chart.width` x `chart.height` pixels.
    ///
    /// - Returns: An RGB image.
    public static func render(_ chart: Chart) -> Image8 {
        let layout = Layout(chart: chart)
        var canvas = Canvas(width: layout.width, height: layout.height)
        canvas.drawText(layout.title.text, x: Layout.margin, y: Layout.margin, scale: layout.title.scale)
        let plotWidth = layout.plotRight - layout.plotLeft, plotHeight = layout.plotBottom - layout.plotTop

        guard !layout.isEmpty else {
            canvas.strokeRect(x: layout.plotLeft, y: layout.plotTop, width: plotWidth + 1, height: plotHeight + 1,
                              color: frameColor)
            let size = BitmapFont.measure("no data", scale: 3)
            canvas.drawText("no data", x: layout.plotLeft + (plotWidth - size.width) / 2,
                            y: layout.plotTop + (plotHeight - size.height) / 2, scale: 3, color: Canvas.Color(gray: 110))
            return canvas.makeImage()
        }

        drawAxes(chart, layout: layout, on: &canvas)

        // References, the front, then lines under markers.
        for reference in chart.references where reference.y.isFinite && (!chart.logY || reference.y > 0) {
            dashedLine(on: &canvas, fromX: layout.plotLeft + 1, toX: layout.plotRight - 1,
                       y: layout.pixelY(reference.y), color: .black)
        }
        if let front = chart.paretoFront {
            let steps = usable(front, logY: chart.logY).sorted { $0.x < $1.x }
            for (a, b) in zip(steps, steps.dropFirst()) {
                let (ax, ay, bx, by) = (layout.pixelX(a.x), layout.pixelY(a.y), layout.pixelX(b.x), layout.pixelY(b.y))
                thickLine(on: &canvas, fromX: ax, y: ay, toX: bx, y: ay, color: paretoColor)
                thickLine(on: &canvas, fromX: bx, y: ay, toX: bx, y: by, color: paretoColor)
            }
            for point in steps {
                ring(on: &canvas, x: layout.pixelX(point.x), y: layout.pixelY(point.y),
                     radius: Layout.markerRadius + 4, color: paretoColor)
            }
        }
        for (index, series) in chart.series.enumerated() where series.connect {
            let points = usable(series.points, logY: chart.logY).sorted { $0.x < $1.x }
            for (a, b) in zip(points, points.dropFirst()) {
                thickLine(on: &canvas, fromX: layout.pixelX(a.x), y: layout.pixelY(a.y),
                          toX: layout.pixelX(b.x), y: layout.pixelY(b.y), color: ChartMarker.color(ofSeries: index))
            }
        }
        for (index, series) in chart.series.enumerated() {
            drawErrorBars(series, color: ChartMarker.color(ofSeries: index), layout: layout, logY: chart.logY, on: &canvas)
        }
        for (index, series) in chart.series.enumerated() {
            let marker = ChartMarker.marker(ofSeries: index), color = ChartMarker.color(ofSeries: index)
            for point in usable(series.points, logY: chart.logY) {
                marker.draw(on: &canvas, x: layout.pixelX(point.x), y: layout.pixelY(point.y),
                            radius: Layout.markerRadius, color: color)
            }
        }
        drawLegend(layout: layout, on: &canvas)
        return canvas.makeImage()
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
    static func drawAxes(_ chart: Chart, layout: Layout, on canvas: inout Canvas) {
        let u = Layout.fontScale, tick = Layout.tickLength
        let glyph = BitmapFont.glyphHeight * u
        for (value, label) in layout.yTicks {
            let y = layout.pixelY(value)
            canvas.fillRect(x: layout.plotLeft + 1, y: y, width: layout.plotRight - layout.plotLeft - 1, height: 1, color: gridColor)
            canvas.fillRect(x: layout.plotLeft - tick, y: y, width: tick, height: 1, color: frameColor)
            let labelWidth = BitmapFont.measure(label, scale: u).width
            canvas.drawText(label, x: layout.plotLeft - tick - 6 - labelWidth, y: y - (BitmapFont.glyphHeight - 1) * u / 2, scale: u)
        }
        let labelTop = layout.plotBottom + tick + 6
        switch layout.categoryLabels {
        case .horizontal(let scale):
            for (value, label) in layout.xTicks {
                let x = layout.pixelX(value)
                canvas.fillRect(x: x, y: layout.plotTop + 1, width: 1, height: layout.plotBottom - layout.plotTop - 1, color: gridColor)
                canvas.fillRect(x: x, y: layout.plotBottom + 1, width: 1, height: tick, color: frameColor)
                let labelWidth = BitmapFont.measure(label, scale: scale).width
                let left = min(max(x - labelWidth / 2, 2), layout.width - 2 - labelWidth)
                canvas.drawText(label, x: left, y: labelTop, scale: scale)
            }
        case .rotated(let scale, let step):
            for (index, (value, label)) in layout.xTicks.enumerated() {
                let x = layout.pixelX(value)
                canvas.fillRect(x: x, y: layout.plotTop + 1, width: 1, height: layout.plotBottom - layout.plotTop - 1, color: gridColor)
                guard index % step == 0 else { continue }
                canvas.fillRect(x: x, y: layout.plotBottom + 1, width: 1, height: tick, color: frameColor)
                drawRotatedText(label, on: &canvas, left: x - (BitmapFont.glyphHeight * scale) / 2 + scale / 2,
                                top: labelTop, scale: scale)
            }
        }
        canvas.strokeRect(x: layout.plotLeft, y: layout.plotTop, width: layout.plotRight - layout.plotLeft + 1,
                          height: layout.plotBottom - layout.plotTop + 1, color: frameColor)

        // Captions: x centred under the plot, y turned and centred beside it.
        let xCaption = HeatmapRenderer.fitted(chart.xLabel, maxWidth: layout.width - 2 * Layout.margin,
                                              preferredScale: u, comfortableScale: u)
        let xWidth = BitmapFont.measure(xCaption.text, scale: xCaption.scale).width
        let centre = (layout.plotLeft + layout.plotRight) / 2
        canvas.drawText(xCaption.text, x: min(max(centre - xWidth / 2, Layout.margin), layout.width - Layout.margin - xWidth),
                        y: layout.height - Layout.margin - glyph, scale: xCaption.scale)
        let yCaption = Layout.shortened(chart.yLabel, to: max(4, (layout.plotBottom - layout.plotTop) / (BitmapFont.advance * u)))
        let yWidth = BitmapFont.measure(yCaption, scale: u).width
        drawRotatedText(yCaption, on: &canvas, left: Layout.margin,
                        top: max(layout.plotTop, (layout.plotTop + layout.plotBottom) / 2 - yWidth / 2), scale: u)
    }

    /// The legend box to the right of the plot.
    static func drawLegend(layout: Layout, on canvas: inout Canvas) {
        guard !layout.legend.isEmpty else { return }
        let u = Layout.fontScale, row = Layout.legendRowHeight
        let top = layout.plotTop
        let boxHeight = 8 + layout.legend.count * row + 4
        canvas.strokeRect(x: layout.legendLeft, y: top, width: layout.legendWidth, height: boxHeight, color: Canvas.Color(gray: 150))
        for (position, entry) in layout.legend.enumerated() {
            let centreY = top + 8 + position * row + row / 2 - 2
            let swatchLeft = layout.legendLeft + 10, swatchRight = swatchLeft + Layout.legendSwatchWidth
            let centreX = (swatchLeft + swatchRight) / 2
            switch entry.kind {
            case .series(let index, let connect):
                let color = ChartMarker.color(ofSeries: index)
                if connect { thickLine(on: &canvas, fromX: swatchLeft, y: centreY, toX: swatchRight, y: centreY, color: color) }
                ChartMarker.marker(ofSeries: index).draw(on: &canvas, x: centreX, y: centreY, radius: Layout.markerRadius, color: color)
            case .reference:
                dashedLine(on: &canvas, fromX: swatchLeft, toX: swatchRight, y: centreY, color: .black)
            case .pareto:
                thickLine(on: &canvas, fromX: swatchLeft, y: centreY + 4, toX: centreX, y: centreY + 4, color: paretoColor)
                thickLine(on: &canvas, fromX: centreX, y: centreY + 4, toX: centreX, y: centreY - 5, color: paretoColor)
                thickLine(on: &canvas, fromX: centreX, y: centreY - 5, toX: swatchRight, y: centreY - 5, color: paretoColor)
            }
            canvas.drawText(entry.name, x: swatchRight + 8, y: centreY - (BitmapFont.glyphHeight - 1) * u / 2, scale: u)
        }
    }

    /// A vertical bar with caps from `y - e` to `y + e` for each point with an error.
    static func drawErrorBars(_ series: ChartSeries, color: Canvas.Color, layout: Layout, logY: Bool, on canvas: inout Canvas) {
        guard let errors = series.errors else { return }
        for (point, error) in zip(series.points, errors) where error.isFinite && error > 0 && point.x.isFinite && point.y.isFinite {
            let low = point.y - error, high = point.y + error
            guard !logY || low > 0 else { continue }
            let x = layout.pixelX(point.x), top = layout.pixelY(high), bottom = layout.pixelY(low)
            canvas.fillRect(x: x, y: min(top, bottom), width: 2, height: abs(bottom - top) + 1, color: color)
            let cap = Layout.markerRadius + 2
            canvas.fillRect(x: x - cap, y: top, width: 2 * cap + 2, height: 2, color: color)
            canvas.fillRect(x: x - cap, y: bottom - 1, width: 2 * cap + 2, height: 2, color: color)
        }
    }

    /// A two-pixel-wide line.
    static func thickLine(on canvas: inout Canvas, fromX x0: Int, y y0: Int, toX x1: Int, y y1: Int, color: Canvas.Color) {
        for (dx, dy) in [(0, 0), (1, 0), (0, 1)] {
            canvas.drawLine(fromX: x0 + dx, y: y0 + dy, toX: x1 + dx, y: y1 + dy, color: color)
        }
    }

    /// A two-pixel-tall horizontal dashed line (7 on, 5 off).
    static func dashedLine(on canvas: inout Canvas, fromX x0: Int, toX x1: Int, y: Int, color: Canvas.Color) {
        for x in x0...max(x0, x1) where (x - x0) % 12 < 7 {
            canvas.fillRect(x: x, y: y, width: 1, height: 2, color: color)
        }
    }

    /// A one-pixel circle outline.
    static func ring(on canvas: inout Canvas, x: Int, y: Int, radius: Int, color: Canvas.Color) {
        for dy in -radius...radius {
            for dx in -radius...radius {
                let d = dx * dx + dy * dy
                if d <= radius * radius + radius && d > (radius - 2) * (radius - 2) + (radius - 2) {
                    canvas.setPixel(x: x + dx, y: y + dy, color: color)
                }
            }
        }
    }

    /// Draws `text` turned a quarter turn anticlockwise (reading upwards) with its bounding box's
    /// top-left corner at (`left`, `top`); the box is the text's height wide and its width tall.
    static func drawRotatedText(_ text: String, on canvas: inout Canvas, left: Int, top: Int, scale: Int,
                                color: Canvas.Color = .black) {
        let size = BitmapFont.measure(text, scale: scale)
        guard size.width > 0 && size.height > 0 else { return }
        var scratch = Canvas(width: size.width, height: size.height)
        scratch.drawText(text, x: 0, y: 0, scale: scale)
        for y in 0..<size.height {
            for x in 0..<size.width where scratch[x, y] != .white {
                canvas.setPixel(x: left + y, y: top + size.width - 1 - x, color: color)
            }
        }
    }
}
