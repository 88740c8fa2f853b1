import SPConvLab

/// Draws a C x C channel-similarity matrix as a heatmap picture.
///
/// Layout, top to bottom: a title line, an optional subtitle line, then the matrix with channel
/// labels on its left and bottom edges and a colour bar with labelled ticks on its right.
/// Each matrix entry is one square cell of ``cellSize(channels:)`` pixels, so the matrix is
/// between 512 and about 1024 pixels wide for 2...512 channels and `channels` pixels wide
/// beyond (2048 channels give 2048 pixels); beyond 4096 channels the matrix is wider than 4096
/// pixels, since cells are never shrunk below one pixel. Text is scaled with the matrix.
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

    /// The scale of ordinary text for a matrix `side` pixels wide (2 up to 799 pixels).
    static func fontScale(side: Int) -> Int { max(2, side / 400) }

    /// Renders a heatmap of a C x C matrix.
    ///
    /// - Parameters:
    ///   - values: The matrix, row-major, `channels * channels` entries; entry `i * C + j`
    ///     compares channel `i` with channel `j`.
    ///   - channels: C.
    ///   - order: The channel shown at each position (a permutation of `0..<C`, e.g. clustered
    ///     order); `nil` keeps the index order. Row `r`, column `c` of the picture shows
    ///     `values[order[r] * C + order[c]]`, and the edge labels give `order[r]`.
    ///   - title: The first line, e.g. "layer1.0.conv1  pearson  512 images". ASCII only; other
    ///     characters are drawn as "?". Wrapped onto two lines or shrunk, then cut with "...", when wider than the picture.
    ///   - subtitle: An optional second line in smaller type.
    ///   - clusterStarts: Positions (in display order, ascending) where a cluster begins; each
    ///     run of two or more positions between consecutive starts gets an outline around its
    ///     diagonal block. `nil` draws none.
    /// - Returns: An RGB image.
    public static func render(values: [Float], channels: Int, order: [Int]?, title: String,
                              subtitle: String?, clusterStarts: [Int]? = nil) -> Image8 {
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
        let (cell, side, u, margin) = (layout.cell, layout.side, layout.fontScale, layout.margin)
        let (matrixLeft, matrixTop, barLeft, barWidth) = (layout.matrixLeft, layout.matrixTop, layout.barLeft, layout.barWidth)
        let (tickLength, ticks, labels) = (layout.tickLength, layout.ticks, layout.labels)
        let (titleLine, subtitleLine, width, height) = (layout.titleLine, layout.subtitleLine, layout.width, layout.height)

        var canvas = Canvas(width: width, height: height)
        canvas.drawText(titleLine.text, x: margin, y: margin, scale: titleLine.scale)
        if let subtitleLine {
            canvas.drawText(subtitleLine.text, x: margin,
                            y: margin + BitmapFont.measure(titleLine.text, scale: titleLine.scale).height + 2 * u,
                            scale: subtitleLine.scale, color: Canvas.Color(gray: 64))
        }

        // The matrix.
        for r in 0..<channels {
            let rowBase = order[r] * channels
            for c in 0..<channels {
                canvas.fillRect(x: matrixLeft + c * cell, y: matrixTop + r * cell, width: cell, height: cell,
                                color: colormap.color(Double(values[rowBase + order[c]])))
            }
        }
        canvas.strokeRect(x: matrixLeft - 1, y: matrixTop - 1, width: side + 2, height: side + 2, color: .black)

        // Cluster outlines on the diagonal.
        if let starts = clusterStarts {
            let outline = colormap.domain.lowerBound < 0 ? Canvas.Color.black : Canvas.Color(255, 40, 40)
            let thickness = max(1, cell / 8)
            let bounds = (starts.filter { $0 > 0 && $0 < channels } + [0, channels]).sorted()
            for (start, end) in zip(bounds, bounds.dropFirst()) where end - start >= 2 {
                canvas.strokeRect(x: matrixLeft + start * cell, y: matrixTop + start * cell,
                                  width: (end - start) * cell, height: (end - start) * cell,
                                  thickness: thickness, color: outline)
            }
        }

        labels.draw(on: &canvas, matrixLeft: matrixLeft, matrixTop: matrixTop, side: side)

        // Colour bar: the upper end of the domain at the top.
        let (lower, upper) = (colormap.domain.lowerBound, colormap.domain.upperBound)
        for y in 0..<side {
            let t = upper - (Double(y) + 0.5) / Double(side) * (upper - lower)
            canvas.fillRect(x: barLeft, y: matrixTop + y, width: barWidth, height: 1, color: colormap.color(t))
        }
        canvas.strokeRect(x: barLeft - 1, y: matrixTop - 1, width: barWidth + 2, height: side + 2, color: .black)
        let glyphHeight = BitmapFont.measure("0", scale: u).height
        for (value, label) in ticks {
            let y = matrixTop + Int(((upper - value) / (upper - lower) * Double(side - 1)).rounded())
            let thickness = max(1, u / 2)
            canvas.fillRect(x: barLeft + barWidth, y: y - thickness / 2, width: tickLength, height: thickness, color: .black)
            let labelTop = min(max(y - glyphHeight / 2, matrixTop - glyphHeight / 2), matrixTop + side - glyphHeight / 2)
            canvas.drawText(label, x: barLeft + barWidth + tickLength + 2 * u, y: labelTop, scale: u)
        }
        if hasNaN {
            let (r, g, b) = Colormap.nanColor
            let swatchTop = matrixTop + side + 4 * u
            canvas.fillRect(x: barLeft, y: swatchTop, width: barWidth, height: glyphHeight, color: Canvas.Color(r, g, b))
            canvas.drawText("NaN", x: barLeft + barWidth + u, y: swatchTop, scale: u)
        }
        return canvas.makeImage()
    }

    /// Where everything of a heatmap goes, in pixels.
    struct Layout {
        let cell: Int
        let side: Int
        let fontScale: Int
        let margin: Int
        let labels: EdgeLabels
        let barWidth: Int
        let tickLength: Int
        let ticks: [(Double, String)]
        let matrixLeft: Int
        let matrixTop: Int
        let barLeft: Int
        let width: Int
        let height: Int
        let titleLine: (text: String, scale: Int)
        let subtitleLine: (text: String, scale: Int)?

        init(channels: Int, order: [Int], title: String, subtitle: String?, colormap: Colormap, hasNaN: Bool) {
            cell = HeatmapRenderer.cellSize(channels: channels)
            side = channels * cell
            let u = HeatmapRenderer.fontScale(side: side)
            fontScale = u
            margin = 6 * u
            // Edge labels: every channel when cells are tall enough for a glyph, else every `step`.
            labels = EdgeLabels(channels: channels, cell: cell, fontScale: u, order: order)
            barWidth = 8 * u
            tickLength = 2 * u
            ticks = colormap.domain.lowerBound < 0
                ? [(-1.0, "-1"), (-0.5, "-0.5"), (0.0, "0"), (0.5, "0.5"), (1.0, "1")]
                : [(0.0, "0"), (0.25, "0.25"), (0.5, "0.5"), (0.75, "0.75"), (1.0, "1")]
            let tickLabelWidth = ticks.map { BitmapFont.measure($0.1, scale: u).width }.max() ?? 0
            matrixLeft = margin + labels.rowLabelWidth
            barLeft = matrixLeft + side + 4 * u
            width = barLeft + barWidth + tickLength + 2 * u + tickLabelWidth + margin
            // Title block, shrunk to fit the width.
            let textWidth = width - 2 * margin
            titleLine = HeatmapRenderer.fitted(title, maxWidth: textWidth, preferredScale: u + 1, comfortableScale: u)
            subtitleLine = subtitle.map { HeatmapRenderer.fitted($0, maxWidth: textWidth, preferredScale: u, comfortableScale: u) }
            var titleHeight = BitmapFont.measure(titleLine.text, scale: titleLine.scale).height
            if let subtitleLine { titleHeight += 2 * u + BitmapFont.measure(subtitleLine.text, scale: subtitleLine.scale).height }
            matrixTop = margin + titleHeight + 4 * u
            let nanLegendHeight = hasNaN ? 4 * u + BitmapFont.measure("NaN", scale: u).height : 0
            height = matrixTop + side + max(labels.columnLabelHeight, nanLegendHeight) + margin
        }
    }

    /// `text` fitted to `maxWidth`: on one line at the largest scale from `preferredScale` down to
    /// `comfortableScale`, else wrapped at spaces onto two lines at the largest scale from
    /// `comfortableScale` down to 1, else cut with "..." at scale 1.
    static func fitted(_ text: String, maxWidth: Int, preferredScale: Int,
                       comfortableScale: Int) -> (text: String, scale: Int) {
        for scale in stride(from: preferredScale, through: max(1, comfortableScale), by: -1)
        where BitmapFont.measure(text, scale: scale).width <= maxWidth {
            return (text, scale)
        }
        for scale in stride(from: max(1, comfortableScale), through: 1, by: -1) {
            let lines = wrapped(text, maxWidth: maxWidth, scale: scale)
            if lines.count <= 2 && lines.allSatisfy({ BitmapFont.measure($0, scale: scale).width <= maxWidth }) {
                return (lines.joined(separator: "\n"), scale)
            }
        }
        let fits = max(0, (maxWidth + 1) / BitmapFont.advance - 3)
        let lines = wrapped(text, maxWidth: maxWidth, scale: 1).prefix(2).map { line in
            line.count > fits + 3 ? String(line.prefix(fits)) + "..." : line
        }
        return (lines.joined(separator: "\n"), 1)
    }

    /// `text` split greedily at spaces into lines no wider than `maxWidth` where possible.
    static func wrapped(_ text: String, maxWidth: Int, scale: Int) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            let candidate = current.isEmpty ? word : current + " " + word
            if !current.isEmpty && BitmapFont.measure(candidate, scale: scale).width > maxWidth {
                lines.append(current)
                current = word
            } else {
                current = candidate
            }
        }
        lines.append(current)
        return lines
    }
}

/// The channel labels along the left and bottom edges of a heatmap.
struct EdgeLabels {
    let rowPositions: [Int]
    let columnPositions: [Int]
    let order: [Int]
    let cell: Int
    let scale: Int
    let rowLabelWidth: Int
    let columnLabelHeight: Int
    let tickLength: Int

    init(channels: Int, cell: Int, fontScale u: Int, order: [Int]) {
        self.order = order
        self.cell = cell
        // A label per row when a glyph fits in a cell, else every `step` rows, spaced by at
        // least two label heights.
        let rowScale: Int
        let rowStep: Int
        if cell >= BitmapFont.glyphHeight {
            rowScale = max(1, min(u, (cell - 1) / BitmapFont.glyphHeight))
            rowStep = 1
        } else {
            rowScale = u
            rowStep = EdgeLabels.niceStep(atLeast: Double(2 * BitmapFont.lineHeight * u) / Double(cell))
        }
        scale = rowScale
        tickLength = rowStep == 1 ? 0 : u
        let widest = BitmapFont.measure(String(channels - 1), scale: rowScale).width
        rowPositions = Array(stride(from: 0, to: channels, by: rowStep))
        // Columns: the same scale, spaced so that the widest label plus a gap fits.
        let columnStep = max(rowStep, EdgeLabels.niceStep(atLeast: Double(widest + 2 * rowScale) / Double(cell)))
        columnPositions = Array(stride(from: 0, to: channels, by: columnStep))
        rowLabelWidth = widest + tickLength + 2 * u
        columnLabelHeight = tickLength + u + BitmapFont.measure("0", scale: rowScale).height + u
    }

    /// The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `minimum`.
    static func niceStep(atLeast minimum: Double) -> Int {
        var base = 1
        while true {
            for factor in [1, 2, 5] where Double(base * factor) >= minimum { return base * factor }
            base *= 10
        }
    }

    func draw(on canvas: inout Canvas, matrixLeft: Int, matrixTop: Int, side: Int) {
        let glyph = BitmapFont.measure("0", scale: scale)
        for position in rowPositions {
            let centre = matrixTop + position * cell + cell / 2
            let label = String(order[position])
            let labelWidth = BitmapFont.measure(label, scale: scale).width
            if tickLength > 0 {
                canvas.fillRect(x: matrixLeft - 1 - tickLength, y: centre, width: tickLength, height: 1, color: .black)
            }
            canvas.drawText(label, x: matrixLeft - 1 - tickLength - scale * 2 - labelWidth,
                            y: centre - glyph.height / 2 + scale / 2, scale: scale)
        }
        for position in columnPositions {
            let centre = matrixLeft + position * cell + cell / 2
            let label = String(order[position])
            let labelWidth = BitmapFont.measure(label, scale: scale).width
            if tickLength > 0 {
                canvas.fillRect(x: centre, y: matrixTop + side + 1, width: 1, height: tickLength, color: .black)
            }
            canvas.drawText(label, x: centre - labelWidth / 2, y: matrixTop + side + 1 + tickLength + scale * 2,
                            scale: scale)
        }
    }
}
