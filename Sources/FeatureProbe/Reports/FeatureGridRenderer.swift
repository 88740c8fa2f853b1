import Drawing
import SPConvLab

/// Draws the feature maps of one layer for one image as a grid of tiles, as in Figure 1 of
/// "Split to Be Slim".
///
/// Channels are tiled in index order, left to right and top to bottom, in a near-square grid
/// (``gridShape(channels:)``). Each map is min-max normalised on its own to gray (a constant
/// map is mid gray), enlarged nearest-neighbour by a whole factor to at least
/// ``minimumTileSide`` pixels, framed, and labelled underneath with its channel index. When
/// clusters are given, every cluster of two or more channels gets a colour from a qualitative
/// palette (matplotlib's `tab10` without gray, cycling after nine clusters) for its tiles'
/// frames and a tag "c1", "c2", ... (numbered in order of each cluster's lowest channel) after
/// the channel index; channels alone in their cluster keep a light gray frame and no tag.
public enum FeatureGridRenderer {
    /// The longer side of a tile is enlarged to at least this many pixels.
    public static let minimumTileSide = 48
    /// Width of the coloured frame around a tile, in pixels.
    public static let frameWidth = 3.0
    /// Pixels between neighbouring tiles.
    public static let spacing = 6.0
    /// The frame colour of channels alone in their cluster (and of all channels without clusters).
    public static let neutralFrame = Color(gray: 200)

    /// The grid for `channels` tiles: `columns = ceil(sqrt(C))`, `rows = ceil(C / columns)`.
    public static func gridShape(channels: Int) -> (columns: Int, rows: Int) {
        precondition(channels > 0, "a grid needs at least one channel, got \(channels)")
        var columns = Int(Double(channels).squareRoot())
        while columns * columns < channels { columns += 1 }
        return (columns, (channels + columns - 1) / columns)
    }

    /// The frame colour and tag of every channel: clusters of two or more members in order of
    /// their lowest channel get palette colours and tags "c1", "c2", ...; the others are neutral.
    public static func clusterMarks(_ clusterOf: [Int]) -> [(color: Color, tag: String?)] {
        var members: [Int: Int] = [:]
        for id in clusterOf { members[id, default: 0] += 1 }
        var rank: [Int: Int] = [:]
        for id in clusterOf where members[id, default: 0] >= 2 && rank[id] == nil { rank[id] = rank.count }
        return clusterOf.map { id in
            guard let r = rank[id] else { return (neutralFrame, nil) }
            return (FeatureMapTile.clusterPalette[r % FeatureMapTile.clusterPalette.count], "c\(r + 1)")
        }
    }

    /// The rectangle of the map of `channel` (inside its frame) in a grid laid out by `render`.
    struct Geometry {
        let columns: Int
        let tileWidth: Double, tileHeight: Double
        let cellWidth: Double, cellHeight: Double
        let left: Double, gridTop: Double

        func frame(of channel: Int) -> Rect {
            Rect(x: left + Double(channel % columns) * (cellWidth + FeatureGridRenderer.spacing),
                 y: gridTop + Double(channel / columns) * (cellHeight + FeatureGridRenderer.spacing),
                 width: cellWidth, height: tileHeight + 2 * FeatureGridRenderer.frameWidth)
        }

        func tile(of channel: Int) -> Rect {
            let frame = frame(of: channel), f = FeatureGridRenderer.frameWidth
            return Rect(x: frame.x + f, y: frame.y + f, width: tileWidth, height: tileHeight)
        }
    }

    /// Renders the grid.
    ///
    /// - Parameters:
    ///   - maps: The feature maps of one image, `[C, H, W]` (or `[1, C, H, W]`).
    ///   - clusterOf: The cluster id of each channel (`C` entries, any integers; equal ids mean
    ///     one cluster), or `nil` for no cluster marks.
    ///   - title: The heading line.
    public static func render(maps: Tensor, clusterOf: [Int]?, title: String) -> Figure {
        let (scalars, channels, mapHeight, mapWidth) = FeatureMapTile.channelMaps(maps)
        if let clusterOf {
            precondition(clusterOf.count == channels,
                         "clusterOf needs one id per channel (\(channels)), got \(clusterOf.count)")
        }
        let marks = clusterOf.map(clusterMarks) ?? Array(repeating: (neutralFrame, nil), count: channels)
        let geometry = layout(channels: channels, mapHeight: mapHeight, mapWidth: mapWidth, hasLegend: clusterOf != nil, title: title)
        let (labelFont, margin) = (labelFont(tileWidth: geometry.tileWidth), 10.0)
        let clusterCount = Set(marks.compactMap(\.tag)).count
        let legend = clusterOf == nil ? nil
            : "frame colour and tag = cluster (\(clusterCount) with 2+ channels); light gray = alone"
        let (columns, rows) = gridShape(channels: channels)
        let gridWidth = Double(columns) * geometry.cellWidth + Double(columns - 1) * spacing
        let gridHeight = Double(rows) * geometry.cellHeight + Double(rows - 1) * spacing
        let width = max(gridWidth, TextMetrics.width(title, font: FigureStyle.caption.bold),
                        legend.map { TextMetrics.width($0, font: FigureStyle.label) } ?? 0) + 2 * margin

        var figure = Figure(width: width.rounded(.up), height: (geometry.gridTop + gridHeight + margin).rounded(.up))
        figure.text(title, at: Point(margin, margin), font: FigureStyle.caption.bold)
        if let legend {
            figure.text(legend, at: Point(margin, margin + FigureStyle.lineHeight(FigureStyle.caption.bold) + 2),
                        font: FigureStyle.label, color: FigureStyle.muted)
        }
        for channel in 0..<channels {
            let (color, tag) = marks[channel]
            let frame = geometry.frame(of: channel)
            figure.fill(frame, color)
            figure.image(FeatureMapTile.grayImage(scalars, channel: channel, height: mapHeight, width: mapWidth),
                         in: geometry.tile(of: channel))
            let labelTop = frame.maxY + 2
            figure.text(String(channel), at: Point(frame.x, labelTop), font: labelFont)
            if let tag {
                figure.text(tag, at: Point(frame.maxX, labelTop), font: labelFont.bold, color: color, anchor: .end)
            }
        }
        return figure
    }

    static func labelFont(tileWidth: Double) -> Font { Font(size: max(10, min(16, tileWidth / 5))) }

    /// The tile geometry for a grid of `channels` maps of `mapHeight` x `mapWidth`.
    static func layout(channels: Int, mapHeight: Int, mapWidth: Int, hasLegend: Bool, title: String) -> Geometry {
        let scale = FeatureMapTile.scale(height: mapHeight, width: mapWidth, target: minimumTileSide)
        let tileWidth = Double(mapWidth * scale), tileHeight = Double(mapHeight * scale)
        let labelHeight = TextMetrics.measure("0", font: labelFont(tileWidth: tileWidth)).height
        let margin = 10.0
        let header = FigureStyle.lineHeight(FigureStyle.caption.bold) + (hasLegend ? 2 + FigureStyle.lineHeight(FigureStyle.label) : 0) + 8
        return Geometry(columns: gridShape(channels: channels).columns, tileWidth: tileWidth, tileHeight: tileHeight,
                        cellWidth: tileWidth + 2 * frameWidth, cellHeight: tileHeight + 2 * frameWidth + 2 + labelHeight,
                        left: margin, gridTop: (margin + header).rounded(.up))
    }
}
