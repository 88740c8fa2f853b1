import Foundation
import Testing
@testable import FeatureProbe
import SPConvLab

@Suite struct FeatureGridRendererTests {
    /// `[C, H, W]` maps: a ramp per channel, except channel 1 which is constant.
    static func maps(channels: Int, height: Int, width: Int) -> Tensor {
        var scalars = [Float]()
        for c in 0..<channels {
            for y in 0..<height {
                for x in 0..<width {
                    scalars.append(c == 1 ? 3 : Float(c + 1) * Float(x + y) + Float(c))
                }
            }
        }
        return Tensor(shape: [channels, height, width], scalars: scalars)
    }

    @Test(arguments: [(1, 1, 1), (10, 4, 3), (16, 4, 4), (17, 5, 4), (64, 8, 8), (2048, 46, 45)])
    func gridIsNearSquare(channels: Int, columns: Int, rows: Int) {
        let shape = FeatureGridRenderer.gridShape(channels: channels)
        #expect(shape.columns == columns && shape.rows == rows)
        #expect(shape.columns * shape.rows >= channels && shape.columns * (shape.rows - 1) < channels)
    }

    @Test func tilesAreNormalisedUpscaledAndFramedByCluster() {
        let (channels, height, width) = (6, 8, 8)
        let clusters = [7, 7, 2, 9, 9, 9]   // channel 2 is alone
        let image = FeatureGridRenderer.render(maps: Self.maps(channels: channels, height: height, width: width),
                                               clusterOf: clusters, title: "layer1.0.conv1 image 0")
        let scale = 6  // ceil(48 / 8)
        let tile = width * scale, frame = FeatureGridRenderer.frameWidth
        let cellWidth = tile + 2 * frame
        let labelHeight = BitmapFont.measure("0", scale: 1).height
        let cellHeight = tile + 2 * frame + 2 + labelHeight
        let (columns, rows) = FeatureGridRenderer.gridShape(channels: channels)
        #expect(columns == 3 && rows == 2)
        let gridWidth = columns * cellWidth + (columns - 1) * FeatureGridRenderer.spacing
        let gridHeight = rows * cellHeight + (rows - 1) * FeatureGridRenderer.spacing
        #expect(image.height > gridHeight && image.width >= gridWidth)
        // Locate the grid from its bottom-left corner: the grid is the last thing drawn, 10 px margins.
        let left = 10, top = image.height - 10 - gridHeight
        func pixel(_ x: Int, _ y: Int) -> [UInt8] { (0..<3).map { image[x, y, $0] } }
        func origin(_ channel: Int) -> (Int, Int) {
            (left + (channel % columns) * (cellWidth + FeatureGridRenderer.spacing) + frame,
             top + (channel / columns) * (cellHeight + FeatureGridRenderer.spacing) + frame)
        }
        // Channel 0: a ramp from black (top left) to white (bottom right), nearest upscaled.
        let (x0, y0) = origin(0)
        #expect(pixel(x0, y0) == [0, 0, 0] && pixel(x0 + scale - 1, y0 + scale - 1) == [0, 0, 0])
        #expect(pixel(x0 + tile - 1, y0 + tile - 1) == [255, 255, 255])
        // Channel 1 is constant: mid gray.
        let (x1, y1) = origin(1)
        #expect(pixel(x1 + 10, y1 + 10) == [128, 128, 128])
        // Frames: channels 0 and 1 share the first palette colour, 3-5 the second, 2 is neutral.
        let palette = FeatureMapTile.clusterPalette
        func frameColor(_ channel: Int) -> [UInt8] { let (x, y) = origin(channel); return pixel(x - 1, y - 1) }
        let expected: [Canvas.Color] = [palette[0], palette[0], FeatureGridRenderer.neutralFrame, palette[1], palette[1], palette[1]]
        for channel in 0..<channels {
            #expect(frameColor(channel) == [expected[channel].red, expected[channel].green, expected[channel].blue])
        }
    }

    @Test func clusterMarksNumberClustersByLowestChannel() {
        let marks = FeatureGridRenderer.clusterMarks([5, 3, 5, 8, 3, 1])
        #expect(marks.map(\.tag) == ["c1", "c2", "c1", nil, "c2", nil])
    }

    @Test func acceptsABatchOfOneAndRoundTripsThroughPNG() throws {
        let maps = Self.maps(channels: 16, height: 32, width: 32).reshaped(to: [1, 16, 32, 32])
        let image = FeatureGridRenderer.render(maps: maps, clusterOf: nil, title: "no clusters")
        #expect(try PNGCodec.decode(try PNGCodec.encode(image)) == image)
    }

    /// Writes an example grid when `FEATUREPROBE_EXAMPLES` names a folder.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FEATUREPROBE_EXAMPLES"] != nil,
                   "set FEATUREPROBE_EXAMPLES=/some/folder to write example pictures"))
    func writeExampleWhenAsked() throws {
        let folder = try #require(ProcessInfo.processInfo.environment["FEATUREPROBE_EXAMPLES"])
        var generator = SeededGenerator(seed: 7)
        let (channels, size) = (32, 16)
        var scalars = [Float]()
        var clusters = [Int]()
        for c in 0..<channels {
            let base = c % 11   // channels c and c + 11 (and c + 22) look alike
            clusters.append(base < 4 ? base : 100 + c)
            let (fx, fy) = (Float(base % 4 + 1), Float(base / 4 + 1))
            for y in 0..<size {
                for x in 0..<size {
                    let signal = sinf(fx * Float(x) / 5) * cosf(fy * Float(y) / 4)
                    scalars.append(signal + 0.15 * generator.nextGaussian())
                }
            }
        }
        let maps = Tensor(shape: [channels, size, size], scalars: scalars)
        let grid = FeatureGridRenderer.render(maps: maps, clusterOf: clusters,
                                              title: "layer1.0.conv1  image 0  (32 channels, 16x16)")
        try FileBytes.writeAtomically(try PNGCodec.encode(grid), to: "\(folder)/grid.png")
        let sheet = PairSheetRenderer.render(maps: maps, pairs: [(0, 11, 0.987), (1, 12, 0.951), (2, 24, -0.5)],
                                             title: "layer1.0.conv1  top 3 pairs  pearson")
        try FileBytes.writeAtomically(try PNGCodec.encode(sheet), to: "\(folder)/pairs.png")
    }
}
