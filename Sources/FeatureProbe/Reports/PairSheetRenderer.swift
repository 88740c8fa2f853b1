import Foundation
import SPConvLab

/// Draws the most similar channel pairs of one layer side by side, one pair per row.
///
/// Each row shows the rank ("1."), the map of the first channel, the map of the second, and the
/// label "ch i / ch j  s=0.987" (similarity with three decimals). Maps are normalised on their
/// own as in ``FeatureGridRenderer`` and enlarged to at least ``minimumTileSide`` pixels.
public enum PairSheetRenderer {
    /// The longer side of a tile is enlarged to at least this many pixels.
    public static let minimumTileSide = 64

    /// The text next to a pair: "ch 3 / ch 17  s=0.987".
    public static func label(_ first: Int, _ second: Int, similarity: Float) -> String {
        "ch \(first) / ch \(second)  s=\(String(format: "%.3f", Double(similarity)))"
    }

    /// Renders the sheet.
    ///
    /// - Parameters:
    ///   - maps: The feature maps of one image, `[C, H, W]` (or `[1, C, H, W]`).
    ///   - pairs: `(i, j, similarity)` triples, most similar first; channels must be in `0..<C`.
    ///     An empty list gives a sheet that says "no pairs".
    ///   - title: The heading line (ASCII; other characters are drawn as "?").
    /// - Returns: An RGB image on a white background.
    public static func render(maps: Tensor, pairs: [(Int, Int, Float)], title: String) -> Image8 {
        let (scalars, channels, mapHeight, mapWidth) = FeatureMapTile.channelMaps(maps)
        for (i, j, _) in pairs {
            precondition((0..<channels).contains(i) && (0..<channels).contains(j),
                         "pair (\(i), \(j)) names a channel outside 0..<\(channels)")
        }
        let scale = FeatureMapTile.scale(height: mapHeight, width: mapWidth, target: minimumTileSide)
        let tileWidth = mapWidth * scale, tileHeight = mapHeight * scale
        let margin = 10, gap = 8, frame = 1
        let textScale = 2
        let rankWidth = BitmapFont.measure("\(max(pairs.count, 1)).", scale: textScale).width
        let labels = pairs.map { label($0.0, $0.1, similarity: $0.2) }
        let labelWidth = labels.map { BitmapFont.measure($0, scale: textScale).width }.max()
            ?? BitmapFont.measure("no pairs", scale: textScale).width
        let rowHeight = max(tileHeight + 2 * frame, BitmapFont.measure("0", scale: textScale).height)
        let titleSize = BitmapFont.measure(title, scale: textScale)
        let contentWidth = rankWidth + gap + 2 * (tileWidth + 2 * frame) + gap + 2 * gap + labelWidth
        let width = max(contentWidth, titleSize.width) + 2 * margin
        let rowsTop = margin + titleSize.height + 12
        let rowCount = max(pairs.count, 1)
        let height = rowsTop + rowCount * rowHeight + (rowCount - 1) * gap + margin

        var canvas = Canvas(width: width, height: height)
        canvas.drawText(title, x: margin, y: margin, scale: textScale)
        if pairs.isEmpty {
            canvas.drawText("no pairs", x: margin, y: rowsTop, scale: textScale, color: Canvas.Color(gray: 96))
        }
        let textHeight = BitmapFont.measure("0", scale: textScale).height
        for (row, (i, j, _)) in pairs.enumerated() {
            let top = rowsTop + row * (rowHeight + gap)
            let textTop = top + (rowHeight - textHeight) / 2
            canvas.drawText("\(row + 1).", x: margin, y: textTop, scale: textScale, color: Canvas.Color(gray: 96))
            var left = margin + rankWidth + gap
            for channel in [i, j] {
                canvas.fillRect(x: left, y: top, width: tileWidth + 2 * frame, height: tileHeight + 2 * frame,
                                color: Canvas.Color(gray: 160))
                let tile = FeatureMapTile.grayImage(scalars, channel: channel, height: mapHeight, width: mapWidth)
                canvas.blit(tile, x: left + frame, y: top + frame, scale: scale)
                left += tileWidth + 2 * frame + gap
            }
            canvas.drawText(labels[row], x: left + gap, y: textTop, scale: textScale)
        }
        return canvas.makeImage()
    }
}
