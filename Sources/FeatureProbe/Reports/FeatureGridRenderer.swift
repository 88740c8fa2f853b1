import SPConvLab

/// Draws the feature maps of one layer for one image as a grid of tiles, as in Figure 1 of
/// "Split to Be Slim".
///
/// Channels are tiled in index order, left to right and top to bottom, in a near-square grid
/// (``gridShape(channels:)``). Each map is min-max normalised on its own to gray (a constant
/// map is mid gray), enlarged by nearest-neighbour upscaling to at least ``minimumTileSide``
/// pixels, framed, and labelled underneath with its channel index. When clusters are given,
/// every cluster of two or more channels gets a colour from a qualitative palette (matplotlib's
/// `tab10` without gray, cycling after nine clusters) for its tiles' frames and a tag "c1",
/// "c2", ... (numbered in order of each cluster's lowest channel) after the channel index;
/// channels alone in their cluster keep a light gray frame and no tag.
public enum FeatureGridRenderer {
    /// The longer side of a tile is enlarged to at least this many pixels.
    public static let minimumTileSide = 48
    /// Width of the coloured frame around a tile, in pixels.
    public static let frameWidth = 3
    /// Pixels between neighbouring tiles.
    public static let spacing = 6
    /// The frame colour of channels alone in their cluster (and of all channels without clusters).
    public static let neutralFrame = Canvas.Color(gray: 200)

    /// The grid for `channels` tiles: `columns = ceil(sqrt(C))`, `rows = ceil(C / columns)`.
    public static func gridShape(channels: Int) -> (columns: Int, rows: Int) {
        precondition(channels > 0, "a grid needs at least one channel, got \(channels)")
        var columns = Int(Double(channels).squareRoot())
        while columns * columns < channels { columns += 1 }
        return (columns, (channels + columns - 1) / columns)
    }

    /// The frame colour and tag of every channel: clusters of two or more members in order of
    /// their lowest channel get palette colours and tags "c1", "c2", ...; the others are neutral.
    public static func clusterMarks(_ clusterOf: [Int]) -> [(color: Canvas.Color, tag: String?)] {
        var members: [Int: Int] = [:]
        for id in clusterOf { members[id, default: 0] += 1 }
        var rank: [Int: Int] = [:]
        for id in clusterOf where members[id, default: 0] >= 2 && rank[id] == nil { rank[id] = rank.count }
        return clusterOf.map { id in
            guard let r = rank[id] else { return (neutralFrame, nil) }
            return (FeatureMapTile.clusterPalette[r % FeatureMapTile.clusterPalette.count], "c\(r + 1)")
        }
    }

    /// Renders the grid.
    ///
    /// - Parameters:
    ///   - maps: The feature maps of one image, `[C, H, W]` (or `[1, C, H, W]`).
    ///   - clusterOf: The cluster id of each channel (`C` entries, any integers; equal ids mean
    ///     one cluster), or `nil` for no cluster marks.
    ///   - title: The heading line (ASCII; other characters are drawn as "?").
    /// - Returns: An RGB image on a white background.
    public static func render(maps: Tensor, clusterOf: [Int]?, title: String) -> Image8 {
        let (scalars, channels, mapHeight, mapWidth) = FeatureMapTile.channelMaps(maps)
        if let clusterOf {
            precondition(clusterOf.count == channels,
                         "clusterOf needs one id per channel (\(channels)), got \(clusterOf.count)")
        }
        let marks = clusterOf.map(clusterMarks) ?? Array(repeating: (neutralFrame, nil), count: channels)
        let (columns, rows) = gridShape(channels: channels)
        let scale = FeatureMapTile.scale(height: mapHeight, width: mapWidth, target: minimumTileSide)
        let tileWidth = mapWidth * scale, tileHeight = mapHeight * scale
        let labelScale = max(1, tileWidth / 96)
        let labelHeight = BitmapFont.measure("0", scale: labelScale).height
        let cellWidth = tileWidth + 2 * frameWidth
        let cellHeight = tileHeight + 2 * frameWidth + 2 + labelHeight
        let gridWidth = columns * cellWidth + (columns - 1) * spacing
        let gridHeight = rows * cellHeight + (rows - 1) * spacing

        let margin = 10
        let titleScale = 2
        let clusterCount = Set(marks.compactMap(\.tag)).count
        let legend = clusterOf == nil ? nil
            : "frame colour and tag = cluster (\(clusterCount) with 2+ channels); light gray = alone"
        let titleSize = BitmapFont.measure(title, scale: titleScale)
        let legendSize = legend.map { BitmapFont.measure($0, scale: 1) } ?? (width: 0, height: 0)
        let headerHeight = titleSize.height + (legend == nil ? 0 : 6 + legendSize.height) + 10
        let width = max(gridWidth, titleSize.width, legendSize.width) + 2 * margin
        let height = margin + headerHeight + gridHeight + margin

        var canvas = Canvas(width: width, height: height)
        canvas.drawText(title, x: margin, y: margin, scale: titleScale)
        if let legend {
            canvas.drawText(legend, x: margin, y: margin + titleSize.height + 6, color: Canvas.Color(gray: 64))
        }
        let gridTop = margin + headerHeight
        for channel in 0..<channels {
            let left = margin + (channel % columns) * (cellWidth + spacing)
            let top = gridTop + (channel / columns) * (cellHeight + spacing)
            let (color, tag) = marks[channel]
            canvas.fillRect(x: left, y: top, width: cellWidth, height: tileHeight + 2 * frameWidth, color: color)
            let tile = FeatureMapTile.grayImage(scalars, channel: channel, height: mapHeight, width: mapWidth)
            canvas.blit(tile, x: left + frameWidth, y: top + frameWidth, scale: scale)
            let labelTop = top + tileHeight + 2 * frameWidth + 2
            canvas.drawText(String(channel), x: left, y: labelTop, scale: labelScale)
            if let tag {
                let tagWidth = BitmapFont.measure(tag, scale: labelScale).width
                canvas.drawText(tag, x: left + cellWidth - tagWidth, y: labelTop, scale: labelScale, color: color)
            }
        }
        return canvas.makeImage()
    }
}
