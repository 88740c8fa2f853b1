import Drawing

/// Draws a C x C channel-similarity matrix as a heatmap figure.
///
/// Layout, top to bottom: a title line, an optional subtitle line, then the matrix with channel
/// labels on its left and bottom edges and a colour bar with labelled ticks on its right.
/// The matrix is one raster of C x C samples drawn nearest-neighbour, each entry a square cell of
/// ``cellSize(channels:)`` pixels at 1x, so cells stay crisp at every size and in every format: the
/// matrix is between 512 and about 1024 pixels wide for 2...512 channels and `channels` pixels wide
/// beyond (2048 channels give 2048 pixels, 4096 device pixels in the 2x PNG). Text grows with the
/// matrix.
///
/// Colours: ``Colormap/viridis`` over `[0, 1]` when no value is negative, otherwise the
/// diverging ``Colormap/coolwarm`` over `[-1, 1]`; values outside the domain are clamped and NaN
/// is drawn in ``Colormap/nanColor`` (with a "NaN" swatch under the colour bar).
public enum HeatmapRenderer {
    /// The side of one matrix cell in pixels: the smallest integer making the matrix at least
    /// 512 pixels wide, and 1 for 512 channels or more.
    public static func cellSize(channels: Int) -> Int {
        precondition(channels > 0, "a heatmap needs at least one channel, got \(channels)")
        return max(1, (512 + channels - 1) / channels)
    }

    /// The colour map for `values`: coolwarm over `[-1, 1]` if any value is negative, else viridis.
    public static func colormap(for values: [Float]) -> Colormap {
        values.contains { $0 < 0 } ? .coolwarm : .viridis
    }

    /// The matrix as a C x C RGB raster: row `r`, column `c` shows `values[order[r] * C + order[c]]`.
    public static func matrixRaster(values: [Float], channels: Int, order: [Int], colormap: Colormap) -> Raster {
        var pixels = [UInt8](repeating: 0, count: channels * channels * 3)
        for r in 0..<channels {
            let rowBase = order[r] * channels
            for c in 0..<channels {
                let (red, green, blue) = colormap.rgb(Double(values[rowBase + order[c]]))
                let i = (r * channels + c) * 3
                pixels[i] = red
                pixels[i + 1] = green
                pixels[i + 2] = blue
            }
        }
        return Raster(width: channels, height: channels, layout: .rgb, pixels: pixels)
    }

    /// Renders a heatmap of a C x C matrix.
    ///
    /// - Parameters:
    ///   - values: The matrix, row-major, `channels * channels` entries; entry `i * C + j`
    ///     compares channel `i` with channel `j`.
    ///   - channels: C.
    ///   - order: The channel shown at each position (a permutation of `0..<C`, e.g. clustered
    ///     order); `nil` keeps the index order. Row `r`, column `c` of the picture shows
    ///     `values[order[r] * C + order[c]]`, and the edge labels give `order[r]`.
    ///   - title: The first line, e.g. "layer1.0.conv1 · pearson · 512 images"; shrunk, then
    ///     wrapped onto two lines, then cut with "…", when wider than the picture.
    ///   - subtitle: An optional second line in smaller type.
    ///   - clusterStarts: Positions (in display order, ascending) where a cluster begins; each
    ///     run of two or more positions between consecutive starts gets an outline around its
    ///     diagonal block. `nil` draws none.
    public static func render(values: [Float], channels: Int, order: [Int]?, title: String,
                              subtitle: String?, clusterStarts: [Int]? = nil) -> Figure {
        precondition(channels > 0, "a heatmap needs at least one channel, got \(channels)")
        precondition(values.count == channels * channels,
                     "a \(channels)x\(channels) matrix has \(channels * channels) values, got \(values.count)")
        let order = order ?? Array(0..<channels)
        precondition(order.count == channels && Set(order) == Set(0..<channels),
                     "order must be a permutation of 0..<\(channels), got \(order.count) entries")
        let colormap = colormap(for: values)
        let hasNaN = values.contains { $0.isNaN }
        let layout = Layout(channels: channels, order: order, title: title, subtitle: subtitle,
                            colormap: colormap, hasNaN: hasNaN)
        var figure = Figure(width: layout.width, height: layout.height)
        FigureStyle.drawLines(layout.titleLines.lines, at: layout.margin, top: layout.margin, font: layout.titleLines.font, on: &figure)
        if let subtitleLines = layout.subtitleLines {
            FigureStyle.drawLines(subtitleLines.lines, at: layout.margin, top: layout.subtitleTop, font: subtitleLines.font,
                                  color: Color(gray: 64), on: &figure)
        }

        // The matrix, framed.
        let matrix = layout.matrixRect
        figure.image(matrixRaster(values: values, channels: channels, order: order, colormap: colormap), in: matrix)
        let frameWidth = max(1, layout.unit / 2)
        figure.stroke(Rect(x: matrix.x - frameWidth / 2, y: matrix.y - frameWidth / 2,
                           width: matrix.width + frameWidth, height: matrix.height + frameWidth), Stroke(.black, width: frameWidth))

        // Cluster outlines on the diagonal.
        if let starts = clusterStarts {
            let outline = colormap.domain.lowerBound < 0 ? Color.black : Color(255, 40, 40)
            let cell = Double(layout.cell)
            let thickness = max(1, cell / 8)
            let bounds = (starts.filter { $0 > 0 && $0 < channels } + [0, channels]).sorted()
            for (start, end) in zip(bounds, bounds.dropFirst()) where end - start >= 2 {
                let inset = thickness / 2
                figure.stroke(Rect(x: matrix.x + Double(start) * cell + inset, y: matrix.y + Double(start) * cell + inset,
                                   width: Double(end - start) * cell - thickness, height: Double(end - start) * cell - thickness),
                              Stroke(outline, width: thickness))
            }
        }

        layout.labels.draw(on: &figure, matrix: matrix)

        // Colour bar: the 256 entries of the map, the upper end of the domain at the top.
        let bar = layout.barRect
        let levels = (0..<256).reversed().map { colormap.rgb(colormap.domain.lowerBound + (Double($0) + 0.5) / 256 * (colormap.domain.upperBound - colormap.domain.lowerBound)) }
        figure.image(Raster(width: 1, height: 256, layout: .rgb, pixels: levels.flatMap { [$0.0, $0.1, $0.2] }), in: bar)
        figure.stroke(bar, Stroke(.black, width: frameWidth))
        let (lower, upper) = (colormap.domain.lowerBound, colormap.domain.upperBound)
        for (value, label) in layout.ticks {
            let y = bar.y + (upper - value) / (upper - lower) * bar.height
            figure.line(from: Point(bar.maxX, y), to: Point(bar.maxX + layout.tickLength, y), Stroke(.black, width: frameWidth))
            figure.text(label, at: Point(bar.maxX + layout.tickLength + layout.unit, y), font: layout.labelFont, baseline: .middle)
        }
        if hasNaN {
            let (r, g, b) = Colormap.nanColor
            let swatch = Rect(x: bar.x, y: bar.maxY + 2 * layout.unit, width: bar.width, height: layout.nanSwatchHeight)
            figure.fill(swatch, Color(r, g, b))
            figure.text("NaN", at: Point(swatch.maxX + layout.unit, swatch.midY), font: layout.labelFont, baseline: .middle)
        }
        return figure
    }

    /// Where everything of a heatmap goes, in pixels at 1x.
    struct Layout {
        let cell: Int
        let side: Double
        /// The unit of spacing and text size: 2 up to 799 matrix pixels, growing with the matrix.
        let unit: Double
        let margin: Double
        let labelFont: Font
        let labels: EdgeLabels
        let tickLength: Double
        let ticks: [(Double, String)]
        let matrixRect: Rect
        let barRect: Rect
        let nanSwatchHeight: Double
        let width: Double
        let height: Double
        let titleLines: (lines: [String], font: Font)
        let subtitleLines: (lines: [String], font: Font)?
        let subtitleTop: Double

        init(channels: Int, order: [Int], title: String, subtitle: String?, colormap: Colormap, hasNaN: Bool) {
            cell = HeatmapRenderer.cellSize(channels: channels)
            side = Double(channels * cell)
            unit = Double(max(2, channels * cell / 400))
            margin = 6 * unit
            let labelFont = Font(size: 6.5 * unit), unit = self.unit, margin = self.margin
            self.labelFont = labelFont
            labels = EdgeLabels(channels: channels, cell: Double(cell), unit: unit, font: labelFont, order: order)
            tickLength = 2 * unit
            ticks = colormap.domain.lowerBound < 0
                ? [(-1.0, "−1"), (-0.5, "−0.5"), (0.0, "0"), (0.5, "0.5"), (1.0, "1")]
                : [(0.0, "0"), (0.25, "0.25"), (0.5, "0.5"), (0.75, "0.75"), (1.0, "1")]
            let tickLabelWidth = TextMetrics.widest(ticks.map(\.1) + (hasNaN ? ["NaN"] : []), font: labelFont)
            let matrixLeft = (margin + labels.rowLabelWidth).rounded(.up)
            let barLeft = matrixLeft + side + 4 * unit, barWidth = 8 * unit
            let width = (barLeft + barWidth + 2 * unit + unit + tickLabelWidth + margin).rounded(.up)
            self.width = width
            // Title block, shrunk to fit the width.
            let textWidth = width - 2 * margin
            titleLines = FigureStyle.fitted(title, font: Font(size: 8 * unit, weight: .bold), smallest: 6 * unit, maxWidth: textWidth)
            subtitleLines = subtitle.map { FigureStyle.fitted($0, font: labelFont, smallest: 5 * unit, maxWidth: textWidth) }
            var titleHeight = FigureStyle.height(ofLines: titleLines.lines.count, font: titleLines.font)
            subtitleTop = margin + titleHeight + unit
            if let subtitleLines = self.subtitleLines { titleHeight += unit + FigureStyle.height(ofLines: subtitleLines.lines.count, font: subtitleLines.font) }
            let matrixTop = (margin + titleHeight + 4 * unit).rounded(.up)
            matrixRect = Rect(x: matrixLeft, y: matrixTop, width: side, height: side)
            barRect = Rect(x: barLeft, y: matrixTop, width: barWidth, height: side)
            nanSwatchHeight = TextMetrics.measure("NaN", font: labelFont).height
            let nanLegendHeight = hasNaN ? 2 * unit + nanSwatchHeight : 0
            height = (matrixTop + side + max(labels.columnLabelHeight, nanLegendHeight) + margin).rounded(.up)
        }
    }
}

/// The channel labels along the left and bottom edges of a heatmap.
struct EdgeLabels {
    let rowPositions: [Int]
    let columnPositions: [Int]
    let order: [Int]
    let cell: Double
    let font: Font
    let rowLabelWidth: Double
    let columnLabelHeight: Double
    let tickLength: Double
    let gap: Double

    init(channels: Int, cell: Double, unit: Double, font labelFont: Font, order: [Int]) {
        self.order = order
        self.cell = cell
        // A label per row when a line of text fits in a cell, else every `step` rows, spaced by at
        // least two line heights.
        let lineHeight = TextMetrics.measure("0", font: labelFont).height
        let rowStep: Int
        if cell >= lineHeight * 0.8 {
            font = labelFont.sized(max(4, min(labelFont.size, cell * 0.7)))
            rowStep = 1
        } else {
            font = labelFont
            rowStep = EdgeLabels.niceStep(atLeast: 2 * lineHeight / cell)
        }
        tickLength = rowStep == 1 ? 0 : unit
        gap = unit
        let widest = TextMetrics.width(String(channels - 1), font: font)
        rowPositions = Array(stride(from: 0, to: channels, by: rowStep))
        // Columns: the same type, spaced so that the widest label plus a gap fits.
        let columnStep = max(rowStep, EdgeLabels.niceStep(atLeast: (widest + 2 * unit) / cell))
        columnPositions = Array(stride(from: 0, to: channels, by: columnStep))
        rowLabelWidth = widest + tickLength + 2 * unit
        columnLabelHeight = tickLength + gap + TextMetrics.measure("0", font: font).height + unit
    }

    /// The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `minimum`.
    static func niceStep(atLeast minimum: Double) -> Int {
        var base = 1
        while true {
            for factor in [1, 2, 5] where Double(base * factor) >= minimum { return base * factor }
            base *= 10
        }
    }

    func draw(on figure: inout Figure, matrix: Rect) {
        let stroke = Stroke(.black, width: 1)
        for position in rowPositions {
            let centre = matrix.y + (Double(position) + 0.5) * cell
            if tickLength > 0 {
                figure.line(from: Point(matrix.x - 1 - tickLength, centre), to: Point(matrix.x - 1, centre), stroke)
            }
            figure.text(String(order[position]), at: Point(matrix.x - 1 - tickLength - gap, centre), font: font,
                        anchor: .end, baseline: .middle)
        }
        for position in columnPositions {
            let centre = matrix.x + (Double(position) + 0.5) * cell
            if tickLength > 0 {
                figure.line(from: Point(centre, matrix.maxY + 1), to: Point(centre, matrix.maxY + 1 + tickLength), stroke)
            }
            figure.text(String(order[position]), at: Point(centre, matrix.maxY + 1 + tickLength + gap), font: font, anchor: .middle)
        }
    }
}
