import Drawing
import Foundation
import SPConvLab

/// Draws the most similar channel pairs of one layer side by side, one pair per row.
///
/// Each row shows the rank ("1."), the map of the first channel, the map of the second, and the
/// label "ch i / ch j  s = 0.987" (similarity with three decimals). Maps are normalised on their
/// own as in ``FeatureGridRenderer`` and enlarged nearest-neighbour to at least
/// ``minimumTileSide`` pixels.
public enum PairSheetRenderer {
    /// The longer side of a tile is enlarged to at least this many pixels.
    public static let minimumTileSide = 64

    /// The text next to a pair: "ch 3 / ch 17  s = 0.987".
    public static func label(_ first: Int, _ second: Int, similarity: Float) -> String {
        "ch \(first) / ch \(second)  s = \(String(format: "%.3f", Double(similarity)))"
    }

    /// Renders the sheet.
    ///
    /// - Parameters:
    ///   - maps: The feature maps of one image, `[C, H, W]` (or `[1, C, H, W]`).
    ///   - pairs: `(i, j, similarity)` triples, most similar first; channels must be in `0..<C`.
    ///     An empty list gives a sheet that says "no pairs".
    ///   - title: The heading line.
    public static func render(maps: Tensor, pairs: [(Int, Int, Float)], title: String) -> Figure {
        let (scalars, channels, mapHeight, mapWidth) = FeatureMapTile.channelMaps(maps)
        for (i, j, _) in pairs {
            precondition((0..<channels).contains(i) && (0..<channels).contains(j),
                         "pair (\(i), \(j)) names a channel outside 0..<\(channels)")
        }
        let scale = FeatureMapTile.scale(height: mapHeight, width: mapWidth, target: minimumTileSide)
        let tileWidth = Double(mapWidth * scale), tileHeight = Double(mapHeight * scale)
        let margin = 10.0, gap = 8.0, frame = 1.0
        let font = FigureStyle.caption, titleFont = FigureStyle.caption.bold
        let rankWidth = TextMetrics.width("\(max(pairs.count, 1)).", font: font)
        let labels = pairs.map { label($0.0, $0.1, similarity: $0.2) }
        let labelWidth = labels.isEmpty ? TextMetrics.width("no pairs", font: font) : TextMetrics.widest(labels, font: font)
        let rowHeight = max(tileHeight + 2 * frame, TextMetrics.measure("0", font: font).height)
        let contentWidth = rankWidth + gap + 2 * (tileWidth + 2 * frame) + gap + 2 * gap + labelWidth
        let width = max(contentWidth, TextMetrics.width(title, font: titleFont)) + 2 * margin
        let rowsTop = (margin + FigureStyle.lineHeight(titleFont) + 10).rounded(.up)
        let rowCount = Double(max(pairs.count, 1))
        let height = rowsTop + rowCount * rowHeight + (rowCount - 1) * gap + margin

        var figure = Figure(width: width.rounded(.up), height: height.rounded(.up))
        figure.text(title, at: Point(margin, margin), font: titleFont)
        if pairs.isEmpty {
            figure.text("no pairs", at: Point(margin, rowsTop), font: font, color: FigureStyle.muted)
        }
        for (row, (i, j, _)) in pairs.enumerated() {
            let top = rowsTop + Double(row) * (rowHeight + gap)
            let middle = top + rowHeight / 2
            figure.text("\(row + 1).", at: Point(margin, middle), font: font, color: FigureStyle.muted, baseline: .middle)
            var left = margin + rankWidth + gap
            for channel in [i, j] {
                figure.fill(Rect(x: left, y: top, width: tileWidth + 2 * frame, height: tileHeight + 2 * frame), Color(gray: 160))
                figure.image(FeatureMapTile.grayImage(scalars, channel: channel, height: mapHeight, width: mapWidth),
                             in: Rect(x: left + frame, y: top + frame, width: tileWidth, height: tileHeight))
                left += tileWidth + 2 * frame + gap
            }
            figure.text(labels[row], at: Point(left + gap, middle), font: font, baseline: .middle)
        }
        return figure
    }
}
